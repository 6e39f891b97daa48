"""A banned customer is refused wherever they can act outside the chat: the Stars pre-checkout
says no with the polite text (nothing is charged), every Mini App endpoint answers 403 with it
(nothing is written, not even their name from initData); Stars Telegram already took are
recorded and frozen, not dropped by the ban's silence."""

import json

import pytest
from django.urls import get_resolver

from antifraud import services as af
from miniapp import api_urls
from payments import services as payments
from payments.models import Payment
from tests.conftest import TelegramUser
from tests.miniapp.conftest import MiniApp, telegram_user
from tests.payments.test_stars import pre_checkout_update, successful_payment_update
from vpnbot.shop import services as shop
from vpnbot.shop.models import Customer, DomainEvent, Order, WalletTransaction

pytestmark = pytest.mark.django_db
POLITE = "can no longer use this bot"


@pytest.fixture(autouse=True)
def _stars_on(settings):
    from decimal import Decimal

    settings.STARS_ENABLED = True
    settings.STARS_PER_UNIT = Decimal("1")
    settings.DEFAULT_CASHBACK_PERCENT = 0


def test_a_banned_customers_stars_pre_checkout_is_refused_politely(bot, fake_telegram):
    user = TelegramUser(7500001, language_code="en")
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    payment = payments.payment_start(provider_key="stars", customer=customer, amount=100_000)
    invoice = fake_telegram.last_invoice(user.id)
    af.customer_ban(customer_id=customer.pk, by="admin:ops", reason="chargebacks")
    for _attempt in range(2):  # every time, not only the first (the chat's one-answer rule is not for this)
        bot.post(pre_checkout_update(fake_telegram, user, invoice))
        answer = list(fake_telegram.pre_checkout_answers.values())[-1]
        assert answer["ok"] is False and POLITE in answer["error_message"]
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    af.customer_unban(customer_id=customer.pk, by="admin:ops", reason="cleared")
    bot.post(pre_checkout_update(fake_telegram, user, invoice))
    assert list(fake_telegram.pre_checkout_answers.values())[-1]["ok"] is True


def test_stars_already_taken_from_a_banned_customer_are_recorded_and_frozen(bot, fake_telegram):
    user = TelegramUser(7500002, language_code="en")
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    payment = payments.payment_start(provider_key="stars", customer=customer, amount=100_000)
    invoice = fake_telegram.last_invoice(user.id)
    bot.post(pre_checkout_update(fake_telegram, user, invoice))
    paid = fake_telegram.pay_invoice(user_id=user.id, invoice=invoice)
    af.customer_ban(customer_id=customer.pk, by="admin:ops", reason="chargebacks")  # banned in between
    bot.post(successful_payment_update(user, paid))
    payment.refresh_from_db()
    assert payment.status == "held" and payment.risk_action == "freeze"
    assert payment.provider_payment_id == paid["telegram_payment_charge_id"]
    assert not WalletTransaction.objects.filter(customer=customer).exists()
    af.customer_unban(customer_id=customer.pk, by="admin:ops", reason="cleared")
    assert WalletTransaction.objects.filter(customer=customer).count() == 1
    assert Customer.objects.get(pk=customer.pk).balance_amount == 100_000


def _endpoints():
    """Every Mini App API route with each method its view answers, with ids that exist."""
    calls = []
    for pattern in api_urls.urlpatterns:
        view = pattern.callback.view_class
        path = str(pattern.pattern).lstrip("^").rstrip("$")
        path = path.replace("(?P<payment_id>\\d{1,12})", "1").replace("(?P<subscription_id>\\d{1,12})", "1")
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                calls.append((method, path))
    return calls


ENDPOINTS = _endpoints()


def test_the_endpoint_list_is_the_whole_api():
    assert len(ENDPOINTS) >= len(api_urls.urlpatterns) and ("post", "orders/pay") in ENDPOINTS
    assert get_resolver()  # the urls load


@pytest.mark.parametrize("method,path", ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_every_mini_app_endpoint_refuses_a_banned_customer_and_changes_nothing(client, settings, method, path):
    app = MiniApp(client, settings, telegram_user())
    customer = app.customer
    shop.wallet_apply(customer_id=customer.pk, amount=500_000, reason="adjustment", source="seed")
    af.customer_ban(customer_id=customer.pk, by="admin:ops", reason="reused receipts")
    before = Customer.objects.filter(pk=customer.pk).values().get()
    counts = (DomainEvent.objects.count(), Payment.objects.count(), Order.objects.count(),
              WalletTransaction.objects.count())
    app.user["username"] = "renamed"  # what initData says changes nothing either
    body = {"amount": 200_000, "method": "stars", "plan_id": 1, "quantity": 1, "expected_total": 1,
            "idempotency_key": "k" * 16, "language": "fa"}
    if method == "get":
        response = app.get(path)
    else:
        response = getattr(client, method)("/app/api/" + path, data=json.dumps(body), content_type="application/json",
                                           HTTP_AUTHORIZATION=app.auth())
    assert response.status_code == 403, response.content
    assert POLITE in response.json()["detail"]
    assert Customer.objects.filter(pk=customer.pk).values().get() == before
    assert counts == (DomainEvent.objects.count(), Payment.objects.count(), Order.objects.count(),
                      WalletTransaction.objects.count())


def test_the_mini_app_serves_the_customer_again_once_the_ban_is_lifted(client, settings):
    app = MiniApp(client, settings, telegram_user())
    customer = app.customer
    af.customer_ban(customer_id=customer.pk, by="admin:ops", reason="reused receipts")
    assert app.get("me").status_code == 403
    assert app.get("me").status_code == 403  # every time
    af.customer_unban(customer_id=customer.pk, by="admin:ops", reason="cleared")
    assert app.get("me").status_code == 200


def test_an_admin_in_admin_telegram_ids_is_never_refused(client, settings):
    app = MiniApp(client, settings, telegram_user())
    customer = app.customer
    af.customer_ban(customer_id=customer.pk, by="admin:ops", reason="test")
    settings.ADMIN_TELEGRAM_IDS = [customer.telegram_id]
    assert app.get("me").status_code == 200
