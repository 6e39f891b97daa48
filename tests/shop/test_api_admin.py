"""The shop's staff API (api.py) and Django admin (admin.py): permissions, actions, refusals."""

from datetime import timedelta

import hypothesis
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone, translation
from django.utils.html import escape
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.admin_i18n import assert_shows
from tests.factories import CustomerFactory, PaymentFactory, PlanFactory
from vpnbot.core import bounds
from vpnbot.shop import formatting, services
from vpnbot.shop.api import PlanSerializer
from vpnbot.shop.models import Customer, Order, Payment, Plan, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(db):
    user = get_user_model().objects.create_user("staff", password="x", is_staff=True, is_superuser=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_api_is_for_staff_only(client, db):
    assert client.get("/api/v1/customers/").status_code in (401, 403)
    user = get_user_model().objects.create_user("plain", password="x")
    anon = APIClient()
    anon.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert anon.get("/api/v1/customers/").status_code == 403
    assert anon.post(f"/api/v1/topups/{PaymentFactory().pk}/approve/").status_code == 403
    assert Payment.objects.get().status == "pending"


def test_root_schema_and_docs(api, admin_client):
    root = api.get("/api/v1/").json()
    assert {"customers", "plans", "orders", "topups", "subscriptions"} <= set(root)
    schema = admin_client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/orders/" in schema.content
    assert admin_client.get("/api/docs/").status_code == 200


def test_customers_and_wallet(api):
    customer = CustomerFactory.with_balance(120_000, username="neda")
    assert api.get("/api/v1/customers/?q=@neda").json()["results"][0]["id"] == customer.pk
    assert api.get(f"/api/v1/customers/?q={customer.telegram_id}").json()["count"] == 1
    wallet = api.get(f"/api/v1/customers/{customer.pk}/wallet/").json()
    assert wallet["balance_amount"] == 120_000 and wallet["ledger"][0]["amount"] == 120_000


def test_plans_crud_and_validation(api):
    created = api.post("/api/v1/plans/", {"name": "Pro", "duration_days": 30, "price_amount": 90_000}, format="json")
    assert created.status_code == 201
    bad = api.post("/api/v1/plans/", {"name": "Bad", "duration_days": 0, "price_amount": -1}, format="json")
    assert bad.status_code == 400 and {"duration_days", "price_amount"} <= set(bad.json())
    pk = created.json()["id"]
    assert api.patch(f"/api/v1/plans/{pk}/", {"price_amount": 95_000}, format="json").json()["price_amount"] == 95_000
    customer = CustomerFactory.with_balance(200_000)
    services.order_checkout(customer_id=customer.pk, plan_id=pk, quantity=1, idempotency_key="k")
    refused = api.delete(f"/api/v1/plans/{pk}/")
    with translation.override("fa"):
        in_use = translation.gettext("This plan has orders; deactivate it (is_active) instead of deleting it.")
    assert refused.status_code == 400 and refused.json()["detail"] == in_use
    assert Plan.objects.filter(pk=pk).exists()


def test_orders_create_idempotent_and_refund(api):
    customer = CustomerFactory.with_balance(250_000)
    plan = PlanFactory(price_amount=100_000)
    body = {"customer": customer.pk, "plan": plan.pk, "quantity": 1, "idempotency_key": "abc"}
    first = api.post("/api/v1/orders/", body, format="json")
    again = api.post("/api/v1/orders/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert Order.objects.count() == 1
    poor = api.post("/api/v1/orders/", {**body, "quantity": 3, "idempotency_key": "x"}, format="json")
    assert poor.status_code == 400 and poor.json()["missing_amount"] == 150_000
    assert api.post("/api/v1/orders/", {**body, "quantity": 2, "idempotency_key": "y"}, format="json").status_code == 400
    order_id = first.json()["id"]
    assert api.post(f"/api/v1/orders/{order_id}/refund/", {"mode": "full"}, format="json").status_code == 400
    refunded = api.post(f"/api/v1/orders/{order_id}/refund/", {"mode": "full", "reason": "test"}, format="json")
    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded"
    assert api.post(f"/api/v1/orders/{order_id}/refund/", {"mode": "full", "reason": "again"}, format="json").status_code == 400
    assert Customer.objects.get(pk=customer.pk).balance_amount == 250_000


def test_topups_approve_and_reject(api):
    payment, other = PaymentFactory(amount=300_000), PaymentFactory()
    assert api.post(f"/api/v1/topups/{payment.pk}/approve/").status_code == 200
    assert api.post(f"/api/v1/topups/{payment.pk}/approve/").status_code == 409
    assert Customer.objects.get(pk=payment.customer_id).balance_amount == 300_000
    assert api.post(f"/api/v1/topups/{other.pk}/reject/", {}, format="json").status_code == 400
    rejected = api.post(f"/api/v1/topups/{other.pk}/reject/", {"reason": "blurry"}, format="json")
    assert rejected.json()["status"] == "rejected"
    assert api.get("/api/v1/topups/?status=pending").json()["count"] == 0


def test_subscription_config_delivery(api, fake_telegram, django_capture_on_commit_callbacks):
    customer = CustomerFactory.with_balance(200_000, language="en")
    order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1, idempotency_key="s").order
    url = f"/api/v1/subscriptions/{order.subscription.pk}/config/"
    assert api.post(url, {"config": ""}, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url, {"config": "vless://abc"}, format="json").status_code == 200
    assert "vless://abc" in fake_telegram.last_text(customer.telegram_id)


def test_admin_approve_needs_confirmation(admin_client):
    payment = PaymentFactory(amount=100_000)
    page = admin_client.post("/admin/shop/payment/", {"action": "approve", "_selected_action": [payment.pk]},
                             HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"Approve top-ups" in page.content
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    done = admin_client.post("/admin/shop/payment/", {"action": "approve", "_selected_action": [payment.pk], "confirm": "yes"})
    assert done.status_code == 302
    assert Customer.objects.get(pk=payment.customer_id).balance_amount == 100_000


def test_admin_reject_requires_a_reason_and_refund_asks_first(admin_client):
    payment = PaymentFactory()
    page = admin_client.post("/admin/shop/payment/", {"action": "reject", "_selected_action": [payment.pk], "confirm": "yes"})
    assert page.status_code == 200 and b"required" in page.content
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    customer = CustomerFactory.with_balance(200_000)
    order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1, idempotency_key="adm").order
    page = admin_client.post("/admin/shop/order/", {"action": "refund", "_selected_action": [order.pk]})
    assert page.status_code == 200 and Order.objects.get(pk=order.pk).status == "paid"
    admin_client.post("/admin/shop/order/", {"action": "refund", "_selected_action": [order.pk], "confirm": "yes",
                                             "mode": "full", "reason": "duplicate"})
    assert Order.objects.get(pk=order.pk).status == "refunded"


def test_admin_pages_render(admin_client):
    CustomerFactory.with_balance(1000)
    for url in ("/admin/shop/customer/", "/admin/shop/customer/?q=user", "/admin/shop/wallettransaction/",
                "/admin/shop/plan/", "/admin/shop/order/", "/admin/shop/subscription/", "/admin/shop/payment/",
                "/admin/telegram/telegramupdate/"):
        assert admin_client.get(url).status_code == 200, url
    assert admin_client.get(f"/admin/shop/customer/{Customer.objects.get().pk}/change/").status_code == 200


def test_admin_pasting_a_config_delivers_it_once(admin_client, fake_telegram, django_capture_on_commit_callbacks):
    customer = CustomerFactory.with_balance(200_000, language="en")
    order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1, idempotency_key="cfg").order
    sub = order.subscription
    url = f"/admin/shop/subscription/{sub.pk}/change/"
    form = {"expires_at_0": sub.expires_at.strftime("%Y-%m-%d"), "expires_at_1": sub.expires_at.strftime("%H:%M:%S"),
            "status": "active", "config": "vless://pasted&<key>"}
    for _ in range(2):  # saving the same config again does not message the customer again
        with django_capture_on_commit_callbacks(execute=True):
            assert admin_client.post(url, form).status_code == 302
    assert Subscription.objects.get(pk=sub.pk).config == "vless://pasted&<key>"
    texts = [t for t in fake_telegram.sent_texts(customer.telegram_id) if "vless://" in t]
    assert len(texts) == 1 and "vless://pasted&amp;&lt;key&gt;" in texts[0]


@pytest.mark.parametrize("url", ["/api/v1/orders/?customer=abc", "/api/v1/subscriptions/?customer=1;DROP",
                                 "/api/v1/topups/?customer=²", "/api/v1/orders/?status=nope",
                                 "/api/v1/subscriptions/?status=x", "/api/v1/topups/?status=approvedd"])
def test_bad_list_filters_are_a_400_not_a_500(api, url):
    response = api.get(url)
    assert response.status_code == 400
    assert set(response.json()) & {"customer", "status"}


def test_list_filters_and_odd_customer_searches(api):
    customer = CustomerFactory.with_balance(300_000)
    services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(price_amount=100_000).pk, quantity=1,
                            idempotency_key="f")
    PaymentFactory(customer=customer), PaymentFactory()
    assert api.get(f"/api/v1/orders/?customer={customer.pk}&status=paid").json()["count"] == 1
    assert api.get(f"/api/v1/subscriptions/?customer={customer.pk}&status=active").json()["count"] == 1
    assert api.get(f"/api/v1/topups/?customer={customer.pk}&status=pending").json()["count"] == 1
    for q in ("²", "9" * 40, "@²"):
        response = api.get("/api/v1/customers/", {"q": q})
        assert response.status_code == 200 and response.json()["count"] == 0
    schema = api.get("/api/schema/").content.decode()
    assert "A customer id" in schema and "A Telegram id or a username" in schema


def test_admin_actions_need_the_change_permission_not_just_view(client):
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_payment", "view_order"]))
    client.force_login(viewer)
    payment = PaymentFactory(amount=100_000)
    customer = CustomerFactory.with_balance(200_000)
    order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1, idempotency_key="v").order
    for url, data in [("/admin/shop/payment/", {"action": "approve", "_selected_action": [payment.pk], "confirm": "yes"}),
                      ("/admin/shop/payment/", {"action": "reject", "_selected_action": [payment.pk], "confirm": "yes",
                                                "reason": "no"}),
                      ("/admin/shop/order/", {"action": "refund", "_selected_action": [order.pk], "confirm": "yes",
                                              "mode": "full", "reason": "no"})]:
        assert client.get(url).status_code == 200  # may look
        client.post(url, data)
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert Customer.objects.get(pk=payment.customer_id).balance_amount == 0


def long_config(length):
    return "vless://" + "a" * (length - 8)


def test_a_config_too_long_for_a_message_is_refused_by_api_and_admin(api, admin_client, fake_telegram,
                                                                      django_capture_on_commit_callbacks):
    customer = CustomerFactory.with_balance(200_000, language="en")
    sub = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1,
                                  idempotency_key="long").order.subscription
    api_url = f"/api/v1/subscriptions/{sub.pk}/config/"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(api_url, {"config": long_config(20_000)}, format="json").status_code == 400
        # fits as typed, not once escaped (& -> &amp;)
        refused = api.post(api_url, {"config": "vless://x?" + "a=1&" * 800}, format="json")
        assert refused.status_code == 400 and "3,500" in refused.json()["detail"]  # the limit, in either language
        form = {"expires_at_0": sub.expires_at.strftime("%Y-%m-%d"), "expires_at_1": sub.expires_at.strftime("%H:%M:%S"),
                "status": "active", "config": long_config(5000)}
        page = admin_client.post(f"/admin/shop/subscription/{sub.pk}/change/", form)
        assert page.status_code == 200 and "3,500" in page.content.decode()
    assert Subscription.objects.get(pk=sub.pk).config == ""
    assert not [t for t in fake_telegram.sent_texts(customer.telegram_id) if "vless://" in t]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(api_url, {"config": long_config(formatting.MAX_CONFIG_LENGTH)}, format="json").status_code == 200
    delivered = [c for c in fake_telegram.calls_to("sendMessage", customer.telegram_id) if "vless://" in c.text]
    assert len(delivered) == 1 and long_config(formatting.MAX_CONFIG_LENGTH) in delivered[0].text  # one whole message


def test_a_refund_of_nothing_is_a_400_in_the_api_and_a_message_in_the_admin(api, admin_client):
    customer = CustomerFactory.with_balance(300_000)
    order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(duration_days=30).pk, quantity=1,
                                    idempotency_key="api-used").order
    past = timezone.now() - timedelta(days=40)
    Subscription.objects.filter(order=order).update(starts_at=past, expires_at=past + timedelta(days=30))
    with translation.override("fa"):  # the API and the admin speak the shop's language
        message = translation.gettext("Nothing to refund: the service time of this order is used up "
                                      "(a full refund would still pay it back).")
    assert "used up" not in message
    response = api.post(f"/api/v1/orders/{order.pk}/refund/", {"mode": "prorata", "reason": "late"}, format="json")
    assert response.status_code == 400 and response.json()["detail"] == message
    page = admin_client.post("/admin/shop/order/", {"action": "refund", "_selected_action": [order.pk], "confirm": "yes",
                                                    "mode": "prorata", "reason": "late"}, follow=True)
    assert page.status_code == 200 and escape(message) in page.content.decode()
    assert Order.objects.get(pk=order.pk).status == "paid"


@pytest.fixture
def order_arrives_during_delete(monkeypatch):
    """An order for the plan is made between the "has it orders?" check and the DELETE."""
    original = Plan.delete

    def delete(plan, *args, **kwargs):
        customer = CustomerFactory.with_balance(500_000)
        services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key=f"race{plan.pk}")
        return original(plan, *args, **kwargs)

    monkeypatch.setattr(Plan, "delete", delete)


def test_a_plan_delete_racing_an_order_is_refused_with_a_message(api, admin_client, order_arrives_during_delete):
    with translation.override("fa"):
        in_use = translation.gettext("This plan has orders; deactivate it (is_active) instead of deleting it.")
    plans = [PlanFactory(name=f"Race {i}") for i in range(3)]
    refused = api.delete(f"/api/v1/plans/{plans[0].pk}/")
    assert refused.status_code == 400 and refused.json()["detail"] == in_use
    page = admin_client.post(f"/admin/shop/plan/{plans[1].pk}/delete/", {"post": "yes"}, follow=True)
    assert page.status_code == 200 and in_use in page.content.decode()
    page = admin_client.post("/admin/shop/plan/", {"action": "delete_selected", "_selected_action": [plans[2].pk],
                                                   "post": "yes"}, follow=True)
    assert page.status_code == 200 and in_use in page.content.decode()
    assert Plan.objects.filter(pk__in=[p.pk for p in plans]).count() == 3  # (the orders, made in the same
    # transaction here, went with the refused delete; a real racing order is another transaction's)


def test_the_admin_deletes_an_unused_plan(admin_client):
    plans = [PlanFactory(name=f"Unused {i}") for i in range(3)]
    assert admin_client.post(f"/admin/shop/plan/{plans[0].pk}/delete/", {"post": "yes"}).status_code == 302
    done = admin_client.post("/admin/shop/plan/", {"action": "delete_selected",
                                                   "_selected_action": [plans[1].pk, plans[2].pk], "post": "yes"})
    assert done.status_code == 302 and not Plan.objects.filter(pk__in=[p.pk for p in plans]).exists()


# --- bounds: every number a person sets has a sane range (vpnbot.core.bounds) ----------------------

PLAN_OUT_OF_BOUNDS = [("duration_days", 999_999_999), ("duration_days", 0), ("duration_days", bounds.MAX_DAYS + 1),
                      ("price_amount", 10**30), ("price_amount", bounds.MAX_AMOUNT + 1), ("price_amount", -1),
                      ("traffic_gb", 10**12), ("traffic_gb", -1), ("device_limit", 0), ("device_limit", 10**6),
                      ("sort_order", 10**12), ("sort_order", -(10**12))]


@pytest.mark.parametrize("field, value", PLAN_OUT_OF_BOUNDS)
def test_the_api_refuses_a_plan_number_out_of_bounds_and_changes_nothing(api, field, value):
    body = {"name": "Bad", "duration_days": 30, "price_amount": 90_000, field: value}
    response = api.post("/api/v1/plans/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Plan.objects.exists()
    plan = PlanFactory(duration_days=30, price_amount=90_000, traffic_gb=50, device_limit=2)
    response = api.patch(f"/api/v1/plans/{plan.pk}/", {field: value}, format="json")
    assert response.status_code == 400 and field in response.json()
    fresh = Plan.objects.get(pk=plan.pk)
    assert (fresh.duration_days, fresh.price_amount, fresh.traffic_gb, fresh.device_limit, fresh.sort_order) == (
        30, 90_000, 50, 2, 0)


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(field=st.sampled_from(["duration_days", "price_amount", "traffic_gb", "device_limit", "sort_order"]),
                  value=st.one_of(st.integers(), st.integers(min_value=-(10**40), max_value=10**40),
                                  st.sampled_from([0, 1, -1, bounds.MAX_DAYS, bounds.MAX_AMOUNT, 2**31, 2**63])))
def test_the_plan_serializer_takes_exactly_the_bounded_numbers(field, value):
    limits = {"duration_days": (1, bounds.MAX_DAYS), "price_amount": (0, bounds.MAX_AMOUNT),
              "traffic_gb": (0, bounds.MAX_TRAFFIC_GB), "device_limit": (1, bounds.MAX_DEVICES),
              "sort_order": (-bounds.MAX_RANK, bounds.MAX_RANK)}
    data = PlanSerializer(data={"name": "p", "duration_days": 30, "price_amount": 1000, field: value})
    low, high = limits[field]
    assert data.is_valid() == (low <= value <= high), data.errors
    assert data.is_valid() or set(data.errors) == {field}


@pytest.mark.parametrize("quantity", [0, -1, 2, 10**9, 10**30, "x"])
def test_the_api_refuses_a_quantity_out_of_bounds_and_creates_nothing(api, quantity):
    customer = CustomerFactory.with_balance(10**9)
    body = {"customer": customer.pk, "plan": PlanFactory().pk, "quantity": quantity, "idempotency_key": "q"}
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400 and "quantity" in response.json()
    assert not Order.objects.exists() and Customer.objects.get(pk=customer.pk).balance_amount == 10**9


@pytest.mark.parametrize("field, value", [("duration_days", 999_999_999), ("price_amount", 2**62)])
def test_buying_a_plan_stored_out_of_bounds_is_a_400_not_a_500(api, field, value):
    customer = CustomerFactory.with_balance(10**9)
    plan = PlanFactory()
    Plan.objects.filter(pk=plan.pk).update(**{field: value})  # written before the bounds, or around them
    api.raise_request_exception = False
    body = {"customer": customer.pk, "plan": plan.pk, "quantity": 3, "idempotency_key": "absurd"}
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400 and response.json()["detail"]
    assert not Order.objects.exists() and Customer.objects.get(pk=customer.pk).balance_amount == 10**9


def plan_form(**changes):
    return {"name": "Admin plan", "description": "", "duration_days": 30, "traffic_gb": 0, "device_limit": 1,
            "price_amount": 90_000, "is_active": "on", "sort_order": 0, "traffic_on_renewal": "reset", **changes}


@pytest.mark.parametrize("field, value", PLAN_OUT_OF_BOUNDS)
def test_the_admin_refuses_a_plan_number_out_of_bounds(admin_client, field, value):
    page = admin_client.post("/admin/shop/plan/add/", plan_form(**{field: value}))
    assert page.status_code == 200 and page.context["adminform"].form.errors.keys() == {field}
    assert not Plan.objects.exists()
    assert admin_client.post("/admin/shop/plan/add/", plan_form()).status_code == 302


def test_the_admin_changelist_refuses_a_price_out_of_bounds(admin_client):
    plan = PlanFactory(price_amount=90_000)
    page = admin_client.post("/admin/shop/plan/", {
        "form-TOTAL_FORMS": 1, "form-INITIAL_FORMS": 1, "form-0-id": plan.pk, "form-0-price_amount": 10**30,
        "form-0-is_active": "on", "form-0-sort_order": 0, "_save": "Save"})
    assert page.status_code == 200
    assert Plan.objects.get(pk=plan.pk).price_amount == 90_000


@pytest.mark.parametrize("month, ok", [(13, False), (0, False), (99, False), (1, True), (12, True)])
def test_the_admin_takes_a_birth_month_from_1_to_12(admin_client, month, ok):
    customer = CustomerFactory(username="neda", language="en")
    form = {"username": "neda", "first_name": "", "last_name": "", "language": "en", "time_zone": "",
            "birth_month": month, "ledger-TOTAL_FORMS": 0, "ledger-INITIAL_FORMS": 0}
    page = admin_client.post(f"/admin/shop/customer/{customer.pk}/change/", form)
    assert page.status_code == (302 if ok else 200)
    assert Customer.objects.get(pk=customer.pk).birth_month == (month if ok else None)


# --- the admin in the operator's language (Accept-Language: LocaleMiddleware) ---

TOP_UP_TEXTS = {
    "fa": {"action": "تأیید شارژهای کیف پول انتخاب‌شده…", "reject": "رد شارژهای کیف پول انتخاب‌شده…",
           "title": "تأیید شارژهای کیف پول", "question": "مبلغ‌ها به کیف پول مشتریان واریز می‌شود.",
           "button": 'value="تأیید"', "cancel": "انصراف",
           "done": "شارژ کیف پول شماره {id} تأیید شد: \u2068100,000 تومان\u2069 به کیف پول واریز شد.",
           "again": "شارژ کیف پول شماره {id} در انتظار بررسی نبود (وضعیت: \u2068تأییدشده\u2069)؛ چیزی تغییر نکرد."},
    "en": {"action": "Approve the selected top-ups…", "reject": "Reject the selected top-ups…",
           "title": "Approve top-ups", "question": "The amounts will be credited to the customers' wallets.",
           "button": 'value="Approve"', "cancel": "Cancel",
           "done": "Top-up #{id} approved: 100,000 Toman credited.",
           "again": "Top-up #{id} was not pending (it is Approved); nothing changed."},
}


@pytest.mark.parametrize("language", ["fa", "en"])
def test_admin_top_up_approval_reads_in_the_operators_language(admin_client, language):
    texts = TOP_UP_TEXTS[language]
    payment = PaymentFactory(amount=100_000)
    changelist = admin_client.get("/admin/shop/payment/", HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(changelist, texts["action"], texts["reject"])
    page = admin_client.post("/admin/shop/payment/", {"action": "approve", "_selected_action": [payment.pk]},
                             HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(page, texts["title"], texts["question"], texts["cancel"])
    assert texts["button"] in page.content.decode()
    assert page.content.decode().count("<h1") == 1  # the title once (the admin's base template writes it)
    for again in (False, True):
        done = admin_client.post("/admin/shop/payment/", {"action": "approve", "_selected_action": [payment.pk],
                                                          "confirm": "yes"}, follow=True, HTTP_ACCEPT_LANGUAGE=language)
        assert_shows(done, texts["again" if again else "done"].format(id=payment.pk))
    assert Customer.objects.get(pk=payment.customer_id).balance_amount == 100_000


REFUND_TEXTS = {
    "fa": {"action": "بازپرداخت سفارش‌های انتخاب‌شده به کیف پول…", "title": "بازپرداخت سفارش‌ها",
           "question": "مبلغ این سفارش‌ها به کیف پول مشتریان برمی‌گردد و اشتراک‌هایشان زودتر به پایان می‌رسد.",
           "form": ("میزان بازپرداخت", "کامل", "به نسبت روزهای استفاده‌نشده", "دلیل بازپرداخت",
                    "مشتری این متن را می‌بیند."),
           "done": "سفارش شماره {id}: \u2068100,000 تومان\u2069 بازپرداخت شد."},
    "en": {"action": "Refund the selected orders to the wallet…", "title": "Refund orders",
           "question": "These orders will be refunded to the customers' wallets and their subscriptions cut short.",
           "form": ("How much to refund", "In full", "Pro rata to the unused days", "Refund reason",
                    "The customer will see this."),
           "done": "Order #{id}: 100,000 Toman refunded."},
}


@pytest.mark.parametrize("language", ["fa", "en"])
def test_admin_refund_form_and_message_read_in_the_operators_language(admin_client, language):
    texts = REFUND_TEXTS[language]
    customer = CustomerFactory.with_balance(100_000)
    order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(price_amount=100_000).pk, quantity=1,
                                    idempotency_key=f"i18n-{language}").order
    assert_shows(admin_client.get("/admin/shop/order/", HTTP_ACCEPT_LANGUAGE=language), texts["action"])
    page = admin_client.post("/admin/shop/order/", {"action": "refund", "_selected_action": [order.pk]},
                             HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(page, texts["title"], texts["question"], *texts["form"])
    done = admin_client.post("/admin/shop/order/", {"action": "refund", "_selected_action": [order.pk], "confirm": "yes",
                                                    "mode": "full", "reason": "duplicate"},
                             follow=True, HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(done, texts["done"].format(id=order.pk))
    assert Customer.objects.get(pk=customer.pk).balance_amount == 100_000


def test_admin_reject_and_subscription_column_in_persian(admin_client):
    payment = PaymentFactory()
    page = admin_client.post("/admin/shop/payment/", {"action": "reject", "_selected_action": [payment.pk]},
                             HTTP_ACCEPT_LANGUAGE="fa")
    assert_shows(page, "رد شارژهای کیف پول", "دلیل رد", "مشتری این متن را می‌بیند.")
    assert 'value="رد"' in page.content.decode()
    done = admin_client.post("/admin/shop/payment/", {"action": "reject", "_selected_action": [payment.pk],
                                                      "confirm": "yes", "reason": "blurry"},
                             follow=True, HTTP_ACCEPT_LANGUAGE="fa")
    assert_shows(done, f"شارژ شماره {payment.pk} رد شد و به مشتری اطلاع داده شد.")
    customers = admin_client.get("/admin/shop/customer/", HTTP_ACCEPT_LANGUAGE="fa")
    assert_shows(customers, "زبان مورد استفاده", "فارسی")
    services.order_checkout(customer_id=CustomerFactory.with_balance(100_000).pk, plan_id=PlanFactory().pk, quantity=1,
                            idempotency_key="column")
    assert_shows(admin_client.get("/admin/shop/subscription/", HTTP_ACCEPT_LANGUAGE="fa"), "کانفیگ دارد")
