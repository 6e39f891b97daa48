from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from discounts.models import CashbackRule, DiscountUsage, SmartDiscount
from tests.discounts.factories import CustomerFactory, PlanFactory, SmartDiscountFactory
from vpnbot.shop.services import order_checkout

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.ENABLE_SMART_DISCOUNTS = True
    settings.DEFAULT_CASHBACK_PERCENT = 5
    settings.MIN_PRICE_PERCENT = 0


@pytest.fixture
def staff():
    return User.objects.create_user("staff", password="pw-123456", is_staff=True, is_superuser=True)


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def test_api_needs_staff():
    assert APIClient().get("/api/v1/discounts/").status_code in (401, 403)


def test_crud_and_validation(api):
    response = api.post("/api/v1/discounts/", {"kind": "hourly", "percent_bp": 1500,
                                               "params": {"ranges": [["20:00", "23:00"]]}}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    bad = api.post("/api/v1/discounts/", {"kind": "conditional", "percent_bp": 1000,
                                          "conditions": {"any": [{"amount": {"gte": "x"}}]}}, format="json")
    assert bad.status_code == 400
    assert "conditions.any[0].amount" in bad.json()["conditions"][0]
    both = api.post("/api/v1/discounts/", {"kind": "conditional", "percent_bp": 1000, "fixed_amount": 5}, format="json",
                    HTTP_ACCEPT_LANGUAGE="en")
    assert both.status_code == 400 and "either a percentage or a fixed amount" in str(both.json())
    patched = api.patch(f"/api/v1/discounts/{pk}/", {"status": "paused"}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "paused"
    assert api.delete(f"/api/v1/discounts/{pk}/").status_code == 204
    assert not SmartDiscount.objects.filter(pk=pk).exists()


def test_used_discount_is_archived_not_deleted(api):
    plan = PlanFactory(price_amount=100_000)
    discount = SmartDiscountFactory(percent_bp=1000)
    customer = CustomerFactory.with_balance(500_000)
    order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="a1")
    response = api.delete(f"/api/v1/discounts/{discount.pk}/")
    assert response.status_code == 200
    discount.refresh_from_db()
    assert discount.status == "archived" and DiscountUsage.objects.count() == 1


def test_cashback_rule_crud(api):
    plan = PlanFactory()
    response = api.post("/api/v1/discounts/cashback-rules/", {"percent_bp": 700, "plans": [plan.pk], "min_amount": 1000},
                        format="json")
    assert response.status_code == 201, response.content
    assert CashbackRule.objects.get().plans.get() == plan
    bad = api.post("/api/v1/discounts/cashback-rules/", {"title": "none"}, format="json")
    assert bad.status_code == 400


def test_quote_endpoint_returns_the_breakdown(api):
    plan = PlanFactory(price_amount=100_000)
    customer = CustomerFactory(language="en")
    SmartDiscountFactory(kind="hourly", percent_bp=1500, params={"ranges": [["20:00", "23:00"]]})
    response = api.post("/api/v1/discounts/quote/", {"customer": customer.pk, "plan": plan.pk, "quantity": 3,
                                                    "at": "2026-03-02T17:00:00Z"}, format="json")  # 20:30 in Tehran
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["list_amount"] == 300_000 and body["discount_amount"] == 45_000 and body["total_amount"] == 255_000
    assert body["discounts"][0]["label"] == "Happy hour"
    assert body["cashback_amount"] == 12_750
    off_hours = api.post("/api/v1/discounts/quote/", {"customer": customer.pk, "plan": plan.pk, "quantity": 3,
                                                     "at": "2026-03-02T12:00:00Z"}, format="json")
    assert off_hours.json()["discount_amount"] == 0
    assert api.post("/api/v1/discounts/quote/", {"customer": customer.pk, "plan": plan.pk, "quantity": 2},
                    format="json").status_code == 400


def test_stats_endpoint(api):
    plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(percent_bp=1000)
    customer = CustomerFactory.with_balance(500_000)
    order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="a1")
    body = api.get("/api/v1/discounts/stats/?days=7").json()
    assert (body["uses"], body["discounted"], body["revenue"], body["cashback_paid"]) == (1, 10_000, 90_000, 4_500)
    assert body["per_kind"][0]["key"] == "conditional"
    assert api.get("/api/v1/discounts/stats/?days=abc").status_code == 400
    assert api.get("/api/v1/discounts/stats/?since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z").status_code == 400


def _refunded_orders_with_cashback():
    """Two orders paying 90 000 with 4 500 cashback each, both refunded: the first taken back
    in full, the second from a wallet left with 1 000 (3 500 not recovered)."""
    from discounts import services
    from vpnbot.shop.services import order_refund, wallet_apply

    plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(percent_bp=1000)
    first = order_checkout(customer_id=CustomerFactory.with_balance(500_000).pk, plan_id=plan.pk, quantity=1,
                           idempotency_key="r1").order
    order_refund(order_id=first.pk, reason="test", by="admin")
    short = CustomerFactory.with_balance(90_000)
    second = order_checkout(customer_id=short.pk, plan_id=plan.pk, quantity=1, idempotency_key="r2").order
    wallet_apply(customer_id=short.pk, amount=-3_500, reason="adjustment", source="spent")
    services.cashback_reverse(order_id=second.pk)  # as if the refund had paid nothing back


def test_stats_show_cashback_paid_reversed_unrecovered_and_net(api):
    _refunded_orders_with_cashback()
    body = api.get("/api/v1/discounts/stats/?days=7").json()
    assert (body["cashback_paid"], body["cashback_reversed"], body["cashback_unrecovered"], body["cashback_net"]) == (
        9_000, 5_500, 3_500, 3_500)


def test_stats_count_a_reversal_in_the_period_it_happened():
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from discounts import services

    plan = PlanFactory(price_amount=100_000)
    customer = CustomerFactory.with_balance(100_000)
    start = timezone.now()
    order = order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="p1").order
    with time_machine.travel(start + timedelta(days=10)):
        services.cashback_reverse(order_id=order.pk)
    early = services.discount_stats(since=start - timedelta(days=1), until=start + timedelta(days=1))
    assert (early.cashback_paid, early.cashback_reversed, early.cashback_net) == (5_000, 0, 5_000)
    late = services.discount_stats(since=start + timedelta(days=9), until=start + timedelta(days=11))
    assert (late.cashback_paid, late.cashback_reversed, late.cashback_net) == (0, 5_000, -5_000)
    whole = services.discount_stats(since=start - timedelta(days=1), until=start + timedelta(days=11))
    assert (whole.cashback_paid, whole.cashback_reversed, whole.cashback_net) == (5_000, 5_000, 0)


def test_admin_refuses_a_bad_condition_tree_and_saves_a_good_one(client, staff):
    client.force_login(staff)
    form = {"kind": "conditional", "title": "x", "percent_bp": "1000", "params": "{}", "conditions": '{"all": [{"hour": 5}]}',
            "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00", "per_customer_limit": "1", "priority": "0",
            "status": "active", "source": "admin",
            "usages-TOTAL_FORMS": "0", "usages-INITIAL_FORMS": "0"}
    response = client.post("/admin/discounts/smartdiscount/add/", form)
    assert response.status_code == 200
    assert "conditions.all[0].hour" in response.content.decode()
    assert not SmartDiscount.objects.exists()
    form["conditions"] = '{"all": [{"hour": {"from": 20, "to": 23}}]}'
    response = client.post("/admin/discounts/smartdiscount/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert SmartDiscount.objects.get().conditions == {"all": [{"hour": {"from": 20, "to": 23}}]}


def test_admin_usages_are_read_only(client, staff):
    client.force_login(staff)
    assert client.get("/admin/discounts/discountusage/").status_code == 200
    assert client.get("/admin/discounts/discountusage/add/").status_code == 403
    assert client.get("/admin/discounts/cashbacktransaction/add/").status_code == 403


def test_crm_interfaces():
    from discounts import services

    customer = CustomerFactory()
    until = datetime(2030, 1, 1, tzinfo=UTC)
    personal = services.discount_create_code(label="Welcome back", percent_bp=2000, cap_amount=50_000, valid_until=until,
                                             customer=customer)
    assert personal.kind == "code" and len(personal.code) == 8 and personal.customer == customer
    assert (personal.max_uses, personal.per_customer_limit, personal.source) == (1, 1, "crm")
    named = services.discount_create_code(label="Campaign", fixed_amount=10_000, valid_until=until, code="yalda1404",
                                          max_uses=100)
    assert named.code == "YALDA1404"
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.discount_create_code(label="Dup", percent_bp=100, valid_until=until, code="Yalda1404")
    with pytest.raises(ValidationError):
        services.discount_create_code(label="Neither", valid_until=until)
    rule = services.cashback_rule_create_personal(customer=customer, percent_bp=1500, valid_until=until, label="VIP")
    assert (rule.customer, rule.percent_bp, rule.ends_at, rule.source) == (customer, 1500, until, "crm")


@pytest.fixture
def concurrent_use():
    """A checkout counting a use between the edit reading the discount and saving it."""
    from django.db.models import F
    from django.db.models.signals import pre_save

    def bump(sender, instance, **kwargs):
        if instance.pk:
            SmartDiscount.objects.filter(pk=instance.pk).update(used_count=F("used_count") + 1)

    pre_save.connect(bump, sender=SmartDiscount, dispatch_uid="test-concurrent-use")
    yield
    pre_save.disconnect(sender=SmartDiscount, dispatch_uid="test-concurrent-use")


def test_api_edit_keeps_uses_counted_meanwhile(api, concurrent_use):
    discount = SmartDiscountFactory(percent_bp=1000, max_uses=10, used_count=3)
    response = api.patch(f"/api/v1/discounts/{discount.pk}/", {"title": "renamed"}, format="json")
    assert response.status_code == 200, response.content
    discount.refresh_from_db()
    assert (discount.title, discount.used_count) == ("renamed", 4)


def test_admin_edit_keeps_uses_counted_meanwhile(client, staff, concurrent_use):
    client.force_login(staff)
    discount = SmartDiscountFactory(kind="conditional", percent_bp=1000, max_uses=10, used_count=3)
    form = {"kind": "conditional", "title": "renamed", "percent_bp": "1000", "params": "{}", "conditions": "{}",
            "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00", "max_uses": "10", "per_customer_limit": "1",
            "priority": "0", "status": "active", "source": "admin",
            "usages-TOTAL_FORMS": "0", "usages-INITIAL_FORMS": "0"}
    response = client.post(f"/admin/discounts/smartdiscount/{discount.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    discount.refresh_from_db()
    assert (discount.title, discount.used_count) == ("renamed", 4)


def test_use_limit_below_the_uses_made_is_refused_with_a_message(api, client, staff):
    discount = SmartDiscountFactory(kind="conditional", percent_bp=1000, max_uses=10, used_count=5)
    response = api.patch(f"/api/v1/discounts/{discount.pk}/", {"max_uses": 4}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "already used 5 times" in response.json()["max_uses"][0]
    client.force_login(staff)
    form = {"kind": "conditional", "title": "", "percent_bp": "1000", "params": "{}", "conditions": "{}",
            "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00", "max_uses": "4", "per_customer_limit": "1",
            "priority": "0", "status": "active", "source": "admin",
            "usages-TOTAL_FORMS": "0", "usages-INITIAL_FORMS": "0"}
    response = client.post(f"/admin/discounts/smartdiscount/{discount.pk}/change/", form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "already used 5 times" in response.content.decode()
    discount.refresh_from_db()
    assert (discount.max_uses, discount.used_count) == (10, 5)


def test_admin_deleting_an_archived_discount_says_so(client, staff):
    client.force_login(staff)
    archived = SmartDiscountFactory(status="archived")
    other = SmartDiscountFactory()
    response = client.post(f"/admin/discounts/smartdiscount/{archived.pk}/delete/", {"post": "yes"}, follow=True,
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "does not exist any more" in response.content.decode()
    assert SmartDiscount.objects.filter(pk=archived.pk, status="archived").exists()
    response = client.post("/admin/discounts/smartdiscount/", {"action": "delete_selected", "post": "yes",
                                                               "_selected_action": [archived.pk, other.pk]})
    assert response.status_code == 302
    assert not SmartDiscount.objects.filter(pk=other.pk).exists()
    assert SmartDiscount.objects.filter(pk=archived.pk).exists()


def test_stats_endpoint_refuses_a_period_before_year_one(api):
    response = api.get("/api/v1/discounts/stats/?until=0001-01-10T00:00:00Z&days=30", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "days" in response.json()


def test_admin_pause_and_resume_go_through_the_service_with_translated_messages(client, staff, monkeypatch):
    from discounts import services

    client.force_login(staff)
    active, paused, archived = (SmartDiscountFactory(status=s) for s in ("active", "paused", "archived"))
    calls = []
    real = services.discount_set_status

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "discount_set_status", spy)
    selected = [active.pk, paused.pk, archived.pk]
    response = client.post("/admin/discounts/smartdiscount/", {"action": "pause", "_selected_action": selected},
                           follow=True, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert "1 discount paused." in page
    assert f"#{archived.pk}: This discount does not exist any more." in page
    assert calls == [{"discount_id": active.pk, "status": "paused"}, {"discount_id": archived.pk, "status": "paused"}]
    assert dict(SmartDiscount.objects.values_list("pk", "status")) == {
        active.pk: "paused", paused.pk: "paused", archived.pk: "archived"}
    response = client.post("/admin/discounts/smartdiscount/", {"action": "resume", "_selected_action": selected},
                           follow=True, HTTP_ACCEPT_LANGUAGE="fa")
    assert "2 تخفیف دوباره فعال شد." in response.content.decode()
    assert dict(SmartDiscount.objects.values_list("pk", "status")) == {
        active.pk: "active", paused.pk: "active", archived.pk: "archived"}
