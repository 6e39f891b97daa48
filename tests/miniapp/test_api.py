"""The Mini App's JSON API end to end: what each endpoint answers, the shop's rules applied
through its services (nothing bought twice, nothing bought with a price the customer did not
see), bad input refused with nothing changed, and someone else's objects unknown."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from discounts.models import SmartDiscount
from notifications.models import NotificationSettings
from payments.models import Payment as OnlinePayment
from tests.discounts.factories import SmartDiscountFactory
from tests.factories import CustomerFactory, PlanFactory
from tests.miniapp.conftest import MiniApp, telegram_user
from vpnbot.shop import services
from vpnbot.shop.models import Customer, Order, ReferralReward, Subscription, TrafficPack, TrafficPurchase, WalletTransaction

pytestmark = pytest.mark.django_db


def fund(app: MiniApp, amount: int, source: str = "") -> Customer:
    customer = app.customer
    services.wallet_apply(customer_id=customer.pk, amount=amount, reason="adjustment", source=source or f"seed:{customer.pk}")
    return Customer.objects.get(pk=customer.pk)


def buy(app: MiniApp, plan, key: str, quantity: int = 1) -> Subscription:
    result = services.order_checkout(customer_id=app.customer.pk, plan_id=plan.pk, quantity=quantity, idempotency_key=key)
    return result.order.subscription


def ledger(customer) -> int:
    return WalletTransaction.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] or 0


# --- plans and quotes ---------------------------------------------------------------------------------------

def test_plans_with_the_customers_price(miniapp):
    gold = PlanFactory(name="Gold", price_amount=100_000, duration_days=30, traffic_gb=50, sort_order=1)
    PlanFactory(name="Old", is_active=False)
    SmartDiscountFactory(kind=SmartDiscount.Kind.CODE, code="SAVE20", percent_bp=2000)
    body = miniapp.get("plans").json()
    assert [p["name"] for p in body["plans"]] == ["Gold"]
    plan = body["plans"][0]
    assert plan["id"] == gold.pk and plan["price_amount"] == 100_000 and plan["price_display"] == "100,000 Toman"
    assert plan["quantities"] == [1, 3, 6, 12] and plan["available"] is True
    assert plan["quote"]["total_amount"] == 100_000 and plan["quote"]["discounts"] == []
    with_code = miniapp.get("plans", {"code": "save20"}).json()["plans"][0]["quote"]
    assert with_code["total_amount"] == 80_000 and with_code["code_applied"] is True
    assert with_code["discounts"][0]["amount"] == 20_000 and with_code["discounts"][0]["display"] == "20,000 Toman"
    bad = miniapp.get("plans", {"code": "no spaces!"})
    assert bad.status_code == 400 and bad.json()["field"] == "code"


def test_quote_with_a_code(miniapp):
    plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(kind=SmartDiscount.Kind.CODE, code="SAVE20", percent_bp=2000)
    fund(miniapp, 50_000)
    body = miniapp.post("quote", {"plan": plan.pk, "quantity": 3, "code": "SAVE20"}).json()
    assert (body["list_amount"], body["discount_amount"], body["total_amount"]) == (300_000, 60_000, 240_000)
    assert body["code_applied"] is True and body["code_message"] == ""
    assert body["balance_amount"] == 50_000 and body["missing_amount"] == 190_000
    assert "Total: 240,000 Toman" in body["text"]
    unknown = miniapp.post("quote", {"plan": plan.pk, "quantity": 1, "code": "NOPE"}).json()
    assert unknown["total_amount"] == 100_000 and unknown["code_applied"] is False
    assert "does not apply" in unknown["code_message"]


def test_quote_refusals(miniapp):
    plan = PlanFactory()
    gone = PlanFactory(is_active=False)
    assert miniapp.post("quote", {"plan": gone.pk, "quantity": 1}).json()["detail"].startswith("This plan is not available")
    assert miniapp.post("quote", {"plan": plan.pk, "quantity": 2}).json() == {"detail": "Choose 1, 3, 6 or 12 periods."}
    assert miniapp.post("quote", {"plan": plan.pk}).json()["field"] == "quantity"
    assert miniapp.post("quote", [1, 2]).status_code == 400


# --- orders from the wallet -------------------------------------------------------------------------------------

def test_an_order_from_the_wallet_moves_the_balance_once(miniapp):
    plan = PlanFactory(price_amount=100_000, duration_days=30)
    customer = fund(miniapp, 250_000)
    order = {"plan": plan.pk, "quantity": 1, "idempotency_key": "a1b2c3d4-0001", "expected_total": 100_000}
    first = miniapp.post("orders", order)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["created"] is True and body["balance_amount"] == 150_000 and body["balance_display"] == "150,000 Toman"
    assert body["order"]["paid_amount"] == 100_000 and body["order"]["plan_name"] == plan.name
    assert body["order"]["subscription"]["expires_display"]
    again = miniapp.post("orders", order)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["order"]["id"] == body["order"]["id"]
    customer.refresh_from_db()
    assert customer.balance_amount == 150_000 == ledger(customer)
    assert Order.objects.filter(customer=customer).count() == 1
    assert Subscription.objects.filter(customer=customer).count() == 1


def test_an_order_with_a_code_and_the_same_key_from_another_customer(miniapp, other):
    """A key is the customer's own: the same key from someone else buys for them, not returns
    the first customer's order."""
    plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(kind=SmartDiscount.Kind.CODE, code="SAVE20", percent_bp=2000)
    fund(miniapp, 100_000)
    fund(other, 100_000)
    key = {"plan": plan.pk, "quantity": 1, "code": "SAVE20", "idempotency_key": "shared-key-1"}
    mine = miniapp.post("orders", key).json()
    theirs = other.post("orders", key).json()
    assert mine["order"]["paid_amount"] == theirs["order"]["paid_amount"] == 80_000
    assert mine["order"]["id"] != theirs["order"]["id"]
    assert Order.objects.get(pk=theirs["order"]["id"]).customer_id == other.customer.pk


def test_insufficient_balance_is_402_with_what_is_missing(miniapp, settings):
    settings.STARS_ENABLED = True
    plan = PlanFactory(price_amount=100_000)
    customer = fund(miniapp, 30_000)
    response = miniapp.post("orders", {"plan": plan.pk, "quantity": 1, "idempotency_key": "short-0001"})
    assert response.status_code == 402
    body = response.json()
    assert body["missing_amount"] == 70_000 and body["missing_display"] == "70,000 Toman"
    assert body["topup_amount"] == 70_000 and "short by 70,000 Toman" in body["detail"]
    assert [m["key"] for m in body["methods"]] == ["stars"]
    customer.refresh_from_db()
    assert customer.balance_amount == 30_000 and not Order.objects.filter(customer=customer).exists()


def test_a_changed_price_is_409_with_the_new_quote(miniapp):
    plan = PlanFactory(price_amount=100_000)
    customer = fund(miniapp, 500_000)
    response = miniapp.post("orders", {"plan": plan.pk, "quantity": 1, "idempotency_key": "changed-01",
                                       "expected_total": 90_000})
    assert response.status_code == 409
    assert response.json()["quote"]["total_amount"] == 100_000 and "price changed" in response.json()["detail"]
    customer.refresh_from_db()
    assert customer.balance_amount == 500_000 and not Order.objects.exists()


@pytest.mark.parametrize("change", [
    {"quantity": -1}, {"quantity": 0}, {"quantity": 10**30}, {"quantity": 1.5}, {"quantity": 2.0}, {"quantity": "1x"},
    {"quantity": True}, {"quantity": 5}, {"expected_total": -100_000}, {"expected_total": "cheap"},
    {"expected_total": 10**40}, {"plan": -1}, {"plan": "1 OR 1=1"}, {"idempotency_key": "short"},
    {"idempotency_key": "x" * 81}, {"idempotency_key": "spaces are not ok"}, {"code": "x" * 33},
    {"code": "<script>"}, {"expected_total": 1},
])
def test_tampered_orders_are_400_and_change_nothing(miniapp, change):
    plan = PlanFactory(price_amount=100_000)
    customer = fund(miniapp, 5_000_000)
    order = {"plan": plan.pk, "quantity": 1, "idempotency_key": "tamper-0001", "expected_total": 100_000, **change}
    response = miniapp.post("orders", order)
    assert response.status_code in (400, 409), response.content
    assert set(response.json()) <= {"detail", "field", "quote"} and response.json()["detail"]
    customer.refresh_from_db()
    assert customer.balance_amount == 5_000_000 and not Order.objects.exists()


def test_errors_come_in_the_customers_language(client, settings):
    app = MiniApp(client, settings, telegram_user(language_code="fa"))
    plan = PlanFactory(price_amount=100_000)
    body = app.post("orders", {"plan": plan.pk, "quantity": 1, "idempotency_key": "farsi-0001"}).json()
    assert "تومان" in body["detail"] and "Toman" not in body["detail"]
    assert "Toman" not in app.post("quote", {"plan": plan.pk, "quantity": 2}).json()["detail"]


# --- subscriptions --------------------------------------------------------------------------------------------------

def test_subscriptions_show_the_account_as_my_services_does(miniapp, provisioner):
    gold = PlanFactory(name="Gold", price_amount=100_000, duration_days=30)
    manual = PlanFactory(name="ByHand", price_amount=50_000)
    TrafficPack.objects.create(name="10 GB", traffic_gb=10, price_amount=20_000)
    fund(miniapp, 1_000_000)
    sub = buy(miniapp, gold, "s-gold-1")
    renewal = buy(miniapp, gold, "s-gold-2")
    by_hand = buy(miniapp, manual, "s-hand-1")
    services.subscription_deliver_config(subscription_id=by_hand.pk, config="vless://by-hand")
    provisioner.give(sub)
    body = miniapp.get("subscriptions").json()["subscriptions"]
    assert [s["id"] for s in body] == [sub.pk, by_hand.pk]
    first = body[0]
    assert first["plan"] == {"id": gold.pk, "name": "Gold", "on_sale": True} and first["renewals"] == [renewal.pk]
    renewal.refresh_from_db()
    assert first["expires_at"] == renewal.expires_at.isoformat() and first["days_left"] in (59, 60)
    assert first["account"]["subscription_url"] == f"https://sub.example.com/{sub.pk}/a"
    assert first["account"]["used_bytes"] == 2 * 1024**3 and first["account"]["limit_display"] == "10 GB"
    assert "2 / 10 GB (20%)" in first["account"]["usage_display"]
    assert first["can_buy_traffic"] and first["can_new_link"] and first["can_renew"] and not first["config_pending"]
    hand = body[1]
    assert hand["account"] is None and hand["config"] == "vless://by-hand" and not hand["can_new_link"]


def test_dates_read_in_jalali_for_persian(client, settings, provisioner):
    import jdatetime

    app = MiniApp(client, settings, telegram_user(language_code="fa"))
    fund(app, 200_000)
    sub = buy(app, PlanFactory(price_amount=100_000), "jalali-01")
    item = app.get("subscriptions").json()["subscriptions"][0]
    expected = jdatetime.datetime.fromgregorian(datetime=sub.expires_at.astimezone(
        __import__("zoneinfo").ZoneInfo(settings.TIME_ZONE))).strftime("%Y/%m/%d %H:%M")
    assert item["expires_display"] == expected and item["expires_display"].startswith("14")


def test_someone_elses_subscription_and_payment_are_404(miniapp, other, provisioner, settings):
    fund(other, 500_000)
    theirs = buy(other, PlanFactory(), "theirs-1")
    provisioner.give(theirs)
    pack = TrafficPack.objects.create(name="5 GB", traffic_gb=5, price_amount=10_000)
    fund(miniapp, 500_000)
    payment = OnlinePayment.objects.create(provider="stars", customer=other.customer, amount=10_000, currency="XTR",
                                           provider_amount=Decimal(10))
    assert miniapp.post(f"subscriptions/{theirs.pk}/link").status_code == 404
    assert miniapp.get(f"payments/{payment.pk}").status_code == 404
    assert miniapp.get("traffic-packs", {"subscription": theirs.pk}).status_code == 404
    response = miniapp.post("traffic", {"subscription": theirs.pk, "pack": pack.pk, "idempotency_key": "steal-traffic"})
    assert response.status_code == 404
    assert miniapp.get("payments/99999999999999999999").status_code == 404  # beyond any id: not a 500
    assert provisioner.new_links == 0 and not TrafficPurchase.objects.exists()
    assert other.get(f"payments/{payment.pk}").status_code == 200


def test_a_new_link_as_the_bots_button_makes_it(miniapp, provisioner):
    fund(miniapp, 500_000)
    sub = buy(miniapp, PlanFactory(), "link-1")
    provisioner.give(sub)
    response = miniapp.post(f"subscriptions/{sub.pk}/link")
    assert response.status_code == 200
    body = response.json()
    assert body["subscription_url"] == f"https://sub.example.com/{sub.pk}/n1"
    assert body["subscription"]["account"]["subscription_url"] == body["subscription_url"]
    again = miniapp.post(f"subscriptions/{sub.pk}/link")  # a double tap makes no second link
    assert again.status_code == 409 and provisioner.new_links == 1


def test_no_new_link_for_a_service_delivered_by_hand(miniapp, provisioner):
    fund(miniapp, 500_000)
    sub = buy(miniapp, PlanFactory(), "link-2")
    response = miniapp.post(f"subscriptions/{sub.pk}/link")
    assert response.status_code == 400 and "on our servers" in response.json()["detail"]


# --- extra traffic ----------------------------------------------------------------------------------------------------

def test_buying_traffic_as_the_bot_does(miniapp, provisioner):
    fund(miniapp, 500_000)
    sub = buy(miniapp, PlanFactory(price_amount=100_000), "traffic-1")
    provisioner.give(sub)
    pack = TrafficPack.objects.create(name="20 GB", traffic_gb=20, price_amount=30_000)
    TrafficPack.objects.create(name="Old", traffic_gb=1, price_amount=1, is_active=False)
    packs = miniapp.get("traffic-packs", {"subscription": sub.pk}).json()
    assert packs["packs"] == [{"id": pack.pk, "name": "20 GB", "traffic_gb": 20, "price_amount": 30_000,
                               "price_display": "30,000 Toman"}]
    order = {"subscription": sub.pk, "pack": pack.pk, "idempotency_key": "traffic-key-1", "expected_amount": 30_000}
    first = miniapp.post("traffic", order)
    assert first.status_code == 201, first.content
    assert first.json()["limit_bytes"] == 30 * 1024**3 and first.json()["balance_amount"] == 370_000
    assert miniapp.post("traffic", order).json()["created"] is False
    changed = miniapp.post("traffic", {**order, "idempotency_key": "traffic-key-2", "expected_amount": 1})
    assert changed.status_code == 409 and changed.json()["pack"]["price_amount"] == 30_000
    assert TrafficPurchase.objects.count() == 1 and miniapp.customer.balance_amount == 370_000


def test_traffic_refusals(miniapp, provisioner):
    fund(miniapp, 10_000)
    sub = buy(miniapp, PlanFactory(price_amount=10_000), "traffic-2")
    pack = TrafficPack.objects.create(name="20 GB", traffic_gb=20, price_amount=30_000)
    by_hand = miniapp.get("traffic-packs", {"subscription": sub.pk})
    assert by_hand.status_code == 400 and "our servers" in by_hand.json()["detail"]
    provisioner.give(sub)
    short = miniapp.post("traffic", {"subscription": sub.pk, "pack": pack.pk, "idempotency_key": "traffic-key-3"})
    assert short.status_code == 402 and short.json()["missing_amount"] == 30_000
    provisioner.give(sub, limit_bytes=0)
    unlimited = miniapp.get("traffic-packs", {"subscription": sub.pk})
    assert unlimited.status_code == 400 and "unlimited" in unlimited.json()["detail"]


# --- payments online ----------------------------------------------------------------------------------------------------

def test_methods_and_a_stars_top_up_as_an_invoice_link(miniapp, fake_telegram, settings):
    settings.STARS_ENABLED = True
    settings.STARS_PER_UNIT = Decimal("1")
    methods = miniapp.get("methods").json()
    assert [m["key"] for m in methods["methods"]] == ["stars"] and methods["topup_min_amount"] >= 1
    response = miniapp.post("topups", {"method": "stars", "amount": 50_000})
    assert response.status_code == 201, response.content
    body = response.json()
    invoice = fake_telegram.last_invoice_link()
    assert body["open"] == "invoice" and body["invoice_link"] == body["url"] == invoice["link"]
    assert invoice["total_amount"] == 50 and invoice["currency"] == "XTR"
    assert not fake_telegram.calls_to("sendInvoice")  # the Mini App opens the link, nothing in the chat
    payment_id = body["payment_id"]
    status = miniapp.get(f"payments/{payment_id}").json()
    assert (status["status"], status["final"], status["asked"]) == ("pending", False, "50 XTR")


def test_a_stars_link_is_paid_like_a_chat_invoice(miniapp, bot, fake_telegram, settings):
    """The link's payment comes back through the webhook as a chat invoice's does: pre-checkout
    answered, the successful payment credited once."""
    from tests.payments.test_stars import pay_with_stars

    settings.STARS_ENABLED = True
    settings.STARS_PER_UNIT = Decimal("1")
    from tests.conftest import TelegramUser

    body = miniapp.post("topups", {"method": "stars", "amount": 40_000}).json()
    user = TelegramUser(miniapp.user["id"], language_code="en")
    pay_with_stars(bot, user, fake_telegram.last_invoice_link())
    status = miniapp.get(f"payments/{body['payment_id']}").json()
    assert status["status"] == "paid" and status["paid"] and status["final"]
    assert status["balance_amount"] == 40_000 == ledger(miniapp.customer)


def test_paying_an_order_online_when_the_wallet_is_short(miniapp, bot, fake_telegram, settings):
    from tests.conftest import TelegramUser
    from tests.payments.test_stars import pay_with_stars

    settings.STARS_ENABLED = True
    settings.STARS_PER_UNIT = Decimal("1")
    plan = PlanFactory(price_amount=100_000)
    stale = miniapp.post("orders/pay", {"method": "stars", "plan": plan.pk, "quantity": 1, "expected_total": 90_000})
    assert stale.status_code == 409 and stale.json()["quote"]["total_amount"] == 100_000
    assert miniapp.post("orders/pay", {"method": "card", "plan": plan.pk, "quantity": 1,
                                       "expected_total": 100_000}).status_code == 400
    response = miniapp.post("orders/pay", {"method": "stars", "plan": plan.pk, "quantity": 1, "expected_total": 100_000})
    assert response.status_code == 201, response.content
    pay_with_stars(bot, TelegramUser(miniapp.user["id"], language_code="en"), fake_telegram.last_invoice_link())
    status = miniapp.get(f"payments/{response.json()['payment_id']}").json()
    order = Order.objects.get(customer=miniapp.customer)
    assert status["paid"] and status["order_id"] == order.pk and order.paid_amount == 100_000
    assert status["balance_amount"] == 0
    # what the page says of it: the order placed, as a purchase from the wallet answers it
    assert status["order"]["paid_display"] == "100,000 Toman" and status["order"]["plan_name"] == plan.name
    assert status["order"]["subscription"]["expires_display"] and status["order_refused"] is False


def test_a_paid_order_that_could_not_be_placed_says_the_money_is_in_the_wallet(miniapp):
    """The plan was taken off sale while the customer was at the bank: paid, credited, no order."""
    plan = PlanFactory(price_amount=100_000)
    payment = OnlinePayment.objects.create(provider="zarinpal", customer=miniapp.customer, amount=100_000,
                                           currency="IRR", provider_amount=Decimal(1_000_000), purpose="order",
                                           plan=plan, quantity=1, expected_total=100_000, status="paid")
    status = miniapp.get(f"payments/{payment.pk}").json()
    assert status["paid"] and status["order"] is None and status["order_refused"] is True
    topup = OnlinePayment.objects.create(provider="zarinpal", customer=miniapp.customer, amount=50_000,
                                         currency="IRR", provider_amount=Decimal(500_000), status="paid")
    assert miniapp.get(f"payments/{topup.pk}").json()["order_refused"] is False


def test_a_top_up_out_of_the_limits_is_refused(miniapp, settings):
    settings.STARS_ENABLED = True
    low, high = services.topup_limits()
    for amount in (low - 1, high + 1, 0, -5, "1e9"):
        response = miniapp.post("topups", {"method": "stars", "amount": amount})
        assert response.status_code == 400, amount
    assert miniapp.post("topups", {"method": "nowhere", "amount": low}).status_code == 400
    assert not OnlinePayment.objects.exists()


# --- wallet, referrals, settings --------------------------------------------------------------------------------------

def test_wallet_history(miniapp):
    fund(miniapp, 200_000)
    buy(miniapp, PlanFactory(price_amount=75_000), "wallet-1")
    body = miniapp.get("wallet").json()
    assert body["balance_amount"] == 125_000
    assert [(t["reason"], t["amount"], t["amount_display"]) for t in body["transactions"]] == [
        ("purchase", -75_000, "-75,000 Toman"), ("adjustment", 200_000, "+200,000 Toman")]
    assert body["transactions"][0]["balance_after_amount"] == 125_000


def test_referrals(miniapp, settings):
    settings.TELEGRAM_BOT_USERNAME = "vpn_shop_bot"
    settings.REFERRAL_REWARD_PERCENT = 10
    inviter = miniapp.customer
    friends = [CustomerFactory(referred_by=inviter) for _ in range(3)]
    services.wallet_apply(customer_id=friends[0].pk, amount=200_000, reason="adjustment", source="friend-0")
    services.order_checkout(customer_id=friends[0].pk, plan_id=PlanFactory(price_amount=150_000).pk, quantity=1,
                            idempotency_key="friend-order")
    body = miniapp.get("referrals").json()
    assert body["link"] == f"https://t.me/vpn_shop_bot?start=ref_{inviter.referral_code}"
    assert (body["joined"], body["rewarded"], body["earned_amount"]) == (3, 1, 15_000)
    assert ReferralReward.objects.get().referrer_id == inviter.pk
    settings.TELEGRAM_BOT_USERNAME = ""
    assert miniapp.get("referrals").json()["link"] == ""


def test_settings_round_trip(miniapp):
    body = miniapp.get("settings").json()
    assert body["language"] == "en" and all(t["enabled"] for t in body["notifications"]["types"])
    changed = miniapp.put("settings", {"language": "fa", "notifications": {
        "types": {"low_balance": False, "campaign": False}, "quiet_hours": {"start": "23:30", "end": "07:00"},
        "daily_limit": 5}})
    assert changed.status_code == 200, changed.content
    again = miniapp.get("settings").json()
    assert again == changed.json() and again["language"] == "fa"
    off = {t["type"] for t in again["notifications"]["types"] if not t["enabled"]}
    assert off == {"low_balance", "campaign"}
    assert again["notifications"]["quiet_hours"] == {"start": "23:30", "end": "07:00"}
    assert again["notifications"]["daily_limit"] == 5
    row = NotificationSettings.objects.get(customer=miniapp.customer)
    assert sorted(row.disabled_types) == ["campaign", "low_balance"]
    assert miniapp.customer.language == "fa"
    miniapp.put("settings", {"notifications": {"types": {"campaign": True}, "quiet_hours": None}})
    final = miniapp.get("settings").json()["notifications"]
    assert final["quiet_hours"] is None and {t["type"] for t in final["types"] if not t["enabled"]} == {"low_balance"}


@pytest.mark.parametrize("bad", [
    {"notifications": {"quiet_hours": {"start": "25:00", "end": "07:00"}}},
    {"notifications": {"quiet_hours": {"start": "7", "end": "08:00"}}},
    {"notifications": {"quiet_hours": {"start": "22:00"}}},
    {"notifications": {"quiet_hours": {"start": "22:00", "end": "22:00"}}},
    {"notifications": {"daily_limit": 101}},
    {"notifications": {"daily_limit": -1}},
    {"notifications": {"types": {"payment_approved": False}}},
    {"notifications": {"types": {"nonsense": False}}},
    {"language": "de"},
    {"language": "fa", "notifications": {"quiet_hours": {"start": "22:00", "end": "8"}}},
])
def test_bad_settings_are_400_and_change_nothing(miniapp, bad):
    before = miniapp.get("settings").json()
    response = miniapp.put("settings", bad)
    assert response.status_code == 400, response.content
    assert response.json()["detail"] and "field" in response.json()
    assert miniapp.get("settings").json() == before


# --- queries --------------------------------------------------------------------------------------------------------

def test_subscriptions_take_the_same_few_queries_for_many(miniapp, django_assert_max_num_queries):
    """With the panels' provisioner (the real one): services, accounts, packs, nothing per item."""
    fund(miniapp, 10_000_000)
    plans = [PlanFactory(price_amount=10_000) for _ in range(8)]
    for i, plan in enumerate(plans):
        buy(miniapp, plan, f"many-{i}")
        buy(miniapp, plan, f"many-renewal-{i}")
    miniapp.get("me")  # the customer's last_seen_at is fresh: no write on the calls measured
    with django_assert_max_num_queries(8):
        body = miniapp.get("subscriptions").json()
    assert len(body["subscriptions"]) == 8


def test_plans_take_the_same_few_queries_for_many(miniapp, django_assert_max_num_queries):
    """The ban check, the customer, the plans, and the discounts engine's reads once for the
    whole list."""
    SmartDiscountFactory(kind=SmartDiscount.Kind.CODE, code="SAVE20", percent_bp=2000)
    SmartDiscountFactory(percent_bp=500, stackable=True)
    for _ in range(8):
        PlanFactory(price_amount=100_000)
    miniapp.get("plans")  # the process has read the shared discounts (its cache, checked by one query a list)
    with django_assert_max_num_queries(6):  # 5, and the anti-fraud's ban (one indexed lookup)
        body = miniapp.get("plans", {"code": "SAVE20"}).json()
    assert len(body["plans"]) == 8 and {p["quote"]["total_amount"] for p in body["plans"]} == {76_000}


@pytest.mark.django_db(transaction=True)  # commits inside the request, as in production
def test_a_purchases_messages_are_sent_by_the_worker_not_while_the_customer_waits(miniapp, fake_telegram, monkeypatch):
    """The order's messages (the receipt, the operators' alert) are handed to the worker after
    commit: the answer does not wait for Telegram (its round trip; the chat's 1 s spacing made
    a second purchase in a row take a second)."""
    from notifications import tasks
    from notifications.models import Notification

    handed = []
    monkeypatch.setattr(tasks.send_notification, "delay", handed.append)
    fund(miniapp, 200_000)
    plan = PlanFactory(price_amount=100_000)
    response = miniapp.post("orders", {"plan": plan.pk, "quantity": 1, "idempotency_key": "receipt-by-worker"})
    assert response.status_code == 201, response.content
    assert handed and sorted(handed) == sorted(Notification.objects.values_list("pk", flat=True))
    assert not fake_telegram.calls_to("sendMessage")
    for pk in handed:
        tasks.send_notification(pk)  # what the worker does
    assert len(fake_telegram.calls_to("sendMessage")) == len(handed)
    assert not Notification.objects.exclude(status="sent").exists()
