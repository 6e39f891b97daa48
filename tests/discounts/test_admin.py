"""The admin site (discounts/admin.py): validated JSON, read-only history, edits that keep the
uses counted meanwhile, and pause/resume/delete through the services."""


import pytest
from django.contrib.admin.sites import site
from django.contrib.messages.storage.fallback import FallbackStorage
from django.utils import translation

from discounts import services
from discounts.models import CashbackRule, DiscountUsage, SmartDiscount
from tests.admin_i18n import FSI, PDI, assert_shows
from tests.discounts.factories import SmartDiscountFactory
from tests.factories import CustomerFactory, PlanFactory
from vpnbot.core import bounds
from vpnbot.shop import services as shop_services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_cashback_5")]


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


def test_admin_pause_and_resume_go_through_the_service_with_translated_messages(client, staff, monkeypatch):
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



def discount_form(**changes):
    return {"kind": "conditional", "title": "x", "percent_bp": "1000", "params": "{}", "conditions": "{}",
            "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00", "per_customer_limit": "1", "priority": "0",
            "status": "active", "source": "admin", "usages-TOTAL_FORMS": "0", "usages-INITIAL_FORMS": "0", **changes}


@pytest.mark.parametrize("field, value", [("percent_bp", "10001"), ("percent_bp", str(10**30)),
                                          ("fixed_amount", str(bounds.MAX_AMOUNT + 1)), ("cap_amount", "0"),
                                          ("max_uses", str(bounds.MAX_COUNT + 1)), ("per_customer_limit", "0"),
                                          ("priority", str(10**12))])
def test_admin_refuses_a_discount_number_out_of_bounds(client, staff, field, value):
    client.force_login(staff)
    form = discount_form(**{field: value}, **({"percent_bp": ""} if field == "fixed_amount" else {}))
    response = client.post("/admin/discounts/smartdiscount/add/", form)
    assert response.status_code == 200 and field in response.context["adminform"].form.errors
    assert not SmartDiscount.objects.exists()
    assert client.post("/admin/discounts/smartdiscount/add/", discount_form()).status_code == 302


@pytest.mark.parametrize("field, value", [("delay_days", str(bounds.MAX_DAYS + 1)), ("min_amount", str(10**30)),
                                          ("percent_bp", "20000")])
def test_admin_refuses_a_cashback_number_out_of_bounds(client, staff, field, value):
    client.force_login(staff)
    form = {"title": "x", "percent_bp": "500", "min_amount": "0", "conditions": "{}", "delay_days": "0",
            "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00", "is_active": "on", "source": "admin"}
    response = client.post("/admin/discounts/cashbackrule/add/", {**form, field: value})
    assert response.status_code == 200 and field in response.context["adminform"].form.errors
    assert not CashbackRule.objects.exists()
    assert client.post("/admin/discounts/cashbackrule/add/", form).status_code == 302


@pytest.mark.parametrize("language, texts", [
    ("fa", {"actions": ("توقف تخفیف‌های انتخاب‌شده", "فعال‌سازی دوباره تخفیف‌های انتخاب‌شده"),
            "help": ("مثلاً:", "ساعت طلایی:", "خرید عمده:"),
            "archived": "تخفیف #{id} استفاده شده بود: به جای حذف، بایگانی شد.",
            "gone": "تخفیف #{id}: {fsi}این تخفیف دیگر وجود ندارد.{pdi}"}),
    ("en", {"actions": ("Pause the selected discounts", "Resume the selected discounts"),
            "help": ("For example:", "Happy hour:", "Bulk purchase:"),
            "archived": "Discount #{id} had uses: archived instead of deleted.",
            "gone": "Discount #{id}: This discount does not exist any more."}),
])
def test_admin_discounts_read_in_the_operators_language(client, rf, staff, language, texts):
    client.force_login(staff)
    customer = CustomerFactory.with_balance(100_000)
    order = shop_services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1,
                                         idempotency_key="used").order
    used, archived = SmartDiscountFactory(), SmartDiscountFactory(status="archived")
    DiscountUsage.objects.create(discount=used, customer=customer, order=order, amount=1000)
    assert_shows(client.get("/admin/discounts/smartdiscount/", HTTP_ACCEPT_LANGUAGE=language), *texts["actions"])
    add = client.get("/admin/discounts/smartdiscount/add/", HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(add, *texts["help"])
    assert '<code dir="ltr">{"all": ' in add.content.decode()  # the JSON example stays left to right
    # (the delete page itself refuses a discount with uses: they are PROTECTed; delete_model archives
    # one whose first use came after that page)
    request = rf.post("/admin/discounts/smartdiscount/")
    request.user, request.session = staff, {}
    request._messages = FallbackStorage(request)
    with translation.override(language):
        site._registry[SmartDiscount].delete_model(request, used)
        assert [str(m) for m in request._messages] == [texts["archived"].format(id=used.pk)]
    page = client.post("/admin/discounts/smartdiscount/", {"action": "pause", "_selected_action": [archived.pk]},
                       follow=True, HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(page, texts["gone"].format(id=archived.pk, fsi=FSI, pdi=PDI))
