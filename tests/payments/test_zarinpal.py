"""Zarinpal end to end against the fake gateway (tests/fakes/zarinpal.py): a payment opened
through payments.services, the customer paying at the fake bank, the browser coming back to
/payments/zarinpal/callback/ through Django's test client, the reconciliation finding lost
callbacks, and the gateway's faults. Credited once is checked on the wallet and its ledger."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from django.utils import timezone

from payments import services
from payments.models import Payment
from payments.providers import zarinpal as zp
from tests.factories import CustomerFactory
from tests.fakes.zarinpal import FakeZarinpal
from vpnbot.shop.models import Order, WalletTransaction
from vpnbot.shop.paymethods import Purchase

MERCHANT = "1344b5d4-0048-11e8-94db-005056a205be"
CALLBACK = "/payments/zarinpal/callback/"
TOPUP = 50_000  # Toman


@pytest.fixture
def zarinpal(settings):
    fake = FakeZarinpal(merchant_id=MERCHANT)
    settings.ZARINPAL_API_URL = fake.url
    settings.ZARINPAL_MERCHANT_ID = MERCHANT
    settings.ZARINPAL_SANDBOX = False
    settings.ZARINPAL_RIALS_PER_UNIT = 10
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    settings.PAYMENTS_TIMEOUT = 3.0
    settings.PAYMENTS_MAX_RETRIES = 2
    yield fake
    fake.stop()


@pytest.fixture
def customer(db):
    return CustomerFactory(balance_amount=0, language="en")


def start(customer, amount=TOPUP, purchase=None) -> Payment:
    return services.payment_start(provider_key="zarinpal", customer=customer, amount=amount, purchase=purchase)


def come_back(client, fake, authority):
    """The browser sent back by the gateway: its return URL, followed on the shop."""
    url = urlsplit(fake.return_url(authority))
    assert f"{url.scheme}://{url.netloc}" == "https://shop.example.com" and url.path == CALLBACK
    return client.get(url.path, dict(parse_qsl(url.query)))


def credits(payment) -> list[WalletTransaction]:
    return list(WalletTransaction.objects.filter(source=f"pay:zarinpal:{payment.pk}"))


def later(minutes=11):
    return timezone.now() + timedelta(minutes=minutes)


# --- start ------------------------------------------------------------------------------------------

def test_a_top_up_asks_rials_and_stores_the_authority_and_the_start_pay_link(zarinpal, customer):
    payment = start(customer)
    (call,) = zarinpal.calls_to("request")
    body = call.body
    assert body["amount"] == TOPUP * 10 and body["currency"] == "IRR"  # Toman × 10 = Rial, said explicitly
    assert body["merchant_id"] == MERCHANT
    assert body["callback_url"] == "https://shop.example.com/payments/zarinpal/callback/"
    assert body["metadata"] == {"order_id": str(payment.pk)} and f"#{payment.pk}" in body["description"]
    payment.refresh_from_db()
    (authority,) = zarinpal.sessions
    assert len(authority) == 36
    assert payment.provider_payment_id == authority and payment.status == Payment.Status.PENDING
    assert payment.pay_url == f"{zarinpal.url}/pg/StartPay/{authority}"
    assert payment.currency == "IRR" and payment.provider_amount == Decimal(TOPUP * 10) and payment.amount == TOPUP
    assert httpx.get(payment.pay_url).status_code == 200  # the gateway knows the link


def test_a_shop_counting_in_rial_asks_the_same_number(zarinpal, customer, settings):
    settings.ZARINPAL_RIALS_PER_UNIT = 1
    payment = start(customer, amount=20_000)
    assert zarinpal.calls_to("request")[0].body["amount"] == 20_000 and payment.provider_amount == 20_000


def test_the_hosts_real_sandbox_or_configured(settings):
    settings.ZARINPAL_API_URL = ""
    settings.ZARINPAL_SANDBOX = False
    assert zp.base_url() == "https://payment.zarinpal.com"
    assert zp.start_pay_url("A1") == "https://payment.zarinpal.com/pg/StartPay/A1"
    settings.ZARINPAL_SANDBOX = True
    assert zp.start_pay_url("A1") == "https://sandbox.zarinpal.com/pg/StartPay/A1"
    settings.ZARINPAL_API_URL = "http://127.0.0.1:9"
    assert zp.start_pay_url("A1") == "http://127.0.0.1:9/pg/StartPay/A1"


def test_off_without_a_merchant_id(zarinpal, customer, settings):
    settings.ZARINPAL_MERCHANT_ID = ""
    assert not zp.Zarinpal().enabled()
    with pytest.raises(services.PaymentsError):
        start(customer)
    assert not zarinpal.calls and not Payment.objects.exists()


def test_no_public_address_refuses_before_asking_the_gateway(zarinpal, customer, settings):
    settings.PUBLIC_BASE_URL = ""
    with pytest.raises(services.PaymentsError):
        start(customer)
    assert not zarinpal.calls
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.FAILED and "PUBLIC_BASE_URL" in payment.note


@pytest.mark.parametrize("error_status", [200, 422])
def test_a_merchant_id_the_gateway_does_not_know_fails_the_payment_without_showing_the_id(
        zarinpal, customer, settings, caplog, error_status):
    zarinpal.error_status = error_status  # the HTTP status of an error answer is not documented
    settings.ZARINPAL_MERCHANT_ID = "00000000-1111-2222-3333-444444444444"
    caplog.set_level("DEBUG")
    with pytest.raises(services.PaymentsError) as raised:
        start(customer)
    assert not raised.value.retry
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.FAILED and "-10" in payment.note
    assert len(zarinpal.calls_to("request")) == 1  # an error answer is not retried
    everything = caplog.text + payment.note + str(payment.timeline) + str(raised.value)
    assert settings.ZARINPAL_MERCHANT_ID not in everything and MERCHANT not in everything


def test_the_gateway_failing_the_request_fails_the_payment(zarinpal, customer):
    zarinpal.fail_next(3, status=500, path="request")  # the first try and both retries
    with pytest.raises(services.PaymentsError):
        start(customer)
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.FAILED and "HTTP 500" in payment.note
    assert payment.provider_payment_id is None and not payment.pay_url
    assert len(zarinpal.calls_to("request")) == 3 and not zarinpal.sessions


def test_a_5xx_or_a_dropped_connection_on_the_request_is_tried_again(zarinpal, customer):
    zarinpal.fail_next(1, status=502, path="request")
    zarinpal.drop_next(1, path="request")
    payment = start(customer)
    assert len(zarinpal.calls_to("request")) == 3
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING and payment.provider_payment_id in zarinpal.sessions


# --- the callback -----------------------------------------------------------------------------------

def test_paid_and_back_credits_the_wallet_once(zarinpal, customer, client):
    payment = start(customer)
    authority = payment.provider_payment_id
    zarinpal.pay(authority)
    response = come_back(client, zarinpal, authority)
    assert response.status_code == 200 and "Payment received" in response.content.decode()
    assert "added to your wallet" in response.content.decode()
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == Payment.Status.PAID and payment.paid_at is not None
    assert "ref_id" in payment.status_detail and "…5995" in payment.status_detail
    assert "502229" not in str(payment.timeline) + payment.status_detail  # the card is not kept
    assert customer.balance_amount == TOPUP
    (row,) = credits(payment)
    assert row.amount == TOPUP and row.reason == WalletTransaction.Reason.TOPUP
    (verify,) = zarinpal.calls_to("verify")
    assert verify.body == {"merchant_id": MERCHANT, "amount": TOPUP * 10, "authority": authority}

    again = come_back(client, zarinpal, authority)  # a reload, the back button
    assert again.status_code == 200 and "Payment received" in again.content.decode()
    customer.refresh_from_db()
    assert customer.balance_amount == TOPUP and len(credits(payment)) == 1
    assert len(zarinpal.calls_to("verify")) == 1  # settled: the gateway is not asked again


def test_a_second_verify_at_the_gateway_says_verified_before_and_credits_nothing_more(zarinpal, customer, client):
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id)
    come_back(client, zarinpal, payment.provider_payment_id)
    payment.refresh_from_db()
    confirmation = zp.Zarinpal().check(payment)  # an admin's "check now" after the callback
    assert confirmation.status == "paid" and confirmation.detail.startswith("101 ")
    services.payment_confirm(payment_id=payment.pk, confirmation=confirmation, via="check")
    customer.refresh_from_db()
    assert customer.balance_amount == TOPUP and len(credits(payment)) == 1


def test_cancelled_at_the_bank_closes_the_payment_and_credits_nothing(zarinpal, customer, client):
    payment = start(customer)
    zarinpal.fail(payment.provider_payment_id)
    response = come_back(client, zarinpal, payment.provider_payment_id)
    assert "Status=NOK" in zarinpal.return_url(payment.provider_payment_id)
    assert response.status_code == 200 and "Payment not completed" in response.content.decode()
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == Payment.Status.FAILED and "FAILED" in payment.status_detail
    assert customer.balance_amount == 0 and not credits(payment)
    assert len(zarinpal.calls_to("verify")) == 1 and len(zarinpal.calls_to("inquiry")) == 1


def test_a_status_ok_while_the_customer_is_still_at_the_bank_leaves_it_pending(zarinpal, customer, client):
    payment = start(customer)
    authority = payment.provider_payment_id
    forged = client.get(CALLBACK, {"Authority": authority, "Status": "OK"})  # not paid: someone typed it
    assert forged.status_code == 200 and "not confirmed yet" in forged.content.decode()
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == Payment.Status.PENDING and "IN_BANK" in payment.status_detail
    assert customer.balance_amount == 0 and not credits(payment)

    zarinpal.pay(authority)  # the customer finishes paying and comes back
    assert come_back(client, zarinpal, authority).status_code == 200
    customer.refresh_from_db()
    assert customer.balance_amount == TOPUP and len(credits(payment)) == 1


def test_a_status_nok_is_verified_too_and_money_that_arrived_is_credited(zarinpal, customer, client):
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id)
    response = client.get(CALLBACK, {"Authority": payment.provider_payment_id, "Status": "NOK"})
    assert response.status_code == 200 and "Payment received" in response.content.decode()
    customer.refresh_from_db()
    assert customer.balance_amount == TOPUP and len(credits(payment)) == 1


def test_a_forged_authority_is_a_404_and_nothing_is_asked_or_changed(zarinpal, customer, client):
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id)
    other = Payment.objects.create(provider=Payment.Provider.STARS, provider_payment_id="A" + "7" * 35,
                                   customer=customer, amount=1000, currency="XTR", provider_amount=10)
    for authority in ("A" + "0" * 35, other.provider_payment_id):
        response = client.get(CALLBACK, {"Authority": authority, "Status": "OK"})
        assert response.status_code == 404 and "not known" in response.content.decode()
    assert not zarinpal.calls_to("verify")
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == Payment.Status.PENDING and customer.balance_amount == 0
    assert not WalletTransaction.objects.exists()


@pytest.mark.parametrize("query", [{}, {"Status": "OK"}, {"Authority": "", "Status": "OK"},
                                   {"Authority": "A" * 65, "Status": "OK"},
                                   {"Authority": "A0<script>", "Status": "OK"},
                                   {"Authority": "A" * 36, "Status": "OK" * 20}])
def test_a_bad_query_is_a_400(zarinpal, db, client, query):
    response = client.get(CALLBACK, query)
    assert response.status_code == 400 and "<script>" not in response.content.decode()
    assert not zarinpal.calls


def test_the_callback_answers_get_only(zarinpal, db, client):
    assert client.post(CALLBACK, {"Authority": "A" * 36, "Status": "OK"}).status_code == 405


def test_a_paid_amount_that_differs_is_held_for_an_admin(zarinpal, customer, client):
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id, amount=TOPUP)  # paid 50,000 Rial instead of 500,000
    response = come_back(client, zarinpal, payment.provider_payment_id)
    assert response.status_code == 200 and "being checked" in response.content.decode()
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == Payment.Status.HELD and "-50" in payment.note
    assert customer.balance_amount == 0 and not credits(payment)


def test_money_given_back_unverified_fails_the_payment(zarinpal, customer, client):
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id)
    zarinpal.reverse(payment.provider_payment_id)
    response = client.get(CALLBACK, {"Authority": payment.provider_payment_id, "Status": "OK"})
    assert "Payment not completed" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED and not credits(payment)


def test_not_paid_without_an_inquiry_answer_stays_pending(zarinpal, customer, client):
    zarinpal.inquiry_enabled = False
    payment = start(customer)
    zarinpal.fail(payment.provider_payment_id)
    response = come_back(client, zarinpal, payment.provider_payment_id)
    assert "not confirmed yet" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING and not credits(payment)


@pytest.mark.parametrize("error_status", [200, 422])
def test_error_answers_are_read_whatever_their_http_status(zarinpal, customer, client, error_status):
    zarinpal.error_status = error_status
    payment = start(customer)
    zarinpal.fail(payment.provider_payment_id)
    come_back(client, zarinpal, payment.provider_payment_id)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED


def test_a_cancelled_payment_paid_after_all_is_credited(zarinpal, customer, client):
    payment = start(customer)
    services.payment_cancel(payment_id=payment.pk, customer_id=customer.pk)
    zarinpal.pay(payment.provider_payment_id)
    come_back(client, zarinpal, payment.provider_payment_id)
    customer.refresh_from_db()
    assert customer.balance_amount == TOPUP and len(credits(payment)) == 1


def test_the_page_speaks_the_customers_language_and_links_back_to_the_bot(zarinpal, db, client, settings):
    settings.TELEGRAM_BOT_USERNAME = "vpn_shop_bot"
    customer = CustomerFactory(balance_amount=0, language="fa")
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id)
    page = come_back(client, zarinpal, payment.provider_payment_id)
    html = page.content.decode()
    assert '<html lang="fa" dir="rtl">' in html and 'href="https://t.me/vpn_shop_bot"' in html
    assert page["Referrer-Policy"] == "no-referrer" and page["Cache-Control"] == "no-store"


# --- an order paid directly -------------------------------------------------------------------------

def test_an_order_payment_places_the_order_once_paid(zarinpal, customer, plan, client):
    purchase = Purchase(plan_id=plan.pk, quantity=1, expected_total=plan.price_amount)
    payment = start(customer, amount=plan.price_amount, purchase=purchase)
    body = zarinpal.calls_to("request")[0].body
    assert body["amount"] == plan.price_amount * 10 and plan.name in body["description"]
    zarinpal.pay(payment.provider_payment_id)
    response = come_back(client, zarinpal, payment.provider_payment_id)
    payment.refresh_from_db()
    customer.refresh_from_db()
    order = Order.objects.get(customer=customer)
    assert payment.status == Payment.Status.PAID and payment.order_id == order.pk
    assert order.status == Order.Status.PAID and order.plan_id == plan.pk and order.paid_amount == plan.price_amount
    assert f"order #{order.pk}" in response.content.decode()
    ledger = WalletTransaction.objects.filter(customer=customer)
    assert ledger.get(reason=WalletTransaction.Reason.TOPUP).amount == plan.price_amount  # credited,
    assert ledger.get(reason=WalletTransaction.Reason.PURCHASE).amount == -plan.price_amount  # then spent
    assert customer.balance_amount == sum(row.amount for row in ledger)  # (plus the shop's cashback, if any)
    come_back(client, zarinpal, payment.provider_payment_id)
    assert Order.objects.filter(customer=customer).count() == 1 and len(credits(payment)) == 1


# --- lost callbacks and a gateway that does not answer -----------------------------------------------

def test_a_lost_callback_is_credited_by_the_reconciliation(zarinpal, customer):
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id)  # paid; the browser never came back
    assert services.payments_reconcile().checked == 0  # too young to be checked
    result = services.payments_reconcile(now=later())
    assert (result.checked, result.credited, result.errors) == (1, 1, [])
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == Payment.Status.PAID and customer.balance_amount == TOPUP
    assert payment.timeline[-1]["detail"].startswith("reconciliation: 100 ref_id")
    assert services.payments_reconcile(now=later()).checked == 0 and len(credits(payment)) == 1


def test_an_unpaid_payment_stays_pending_then_expires(zarinpal, customer):
    payment = start(customer)
    assert services.payments_reconcile(now=later()).credited == 0
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    result = services.payments_reconcile(now=later(minutes=25 * 60))
    assert result.expired == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED and not credits(payment)


def test_a_verify_timing_out_in_the_callback_is_credited_later_by_the_reconciliation(zarinpal, customer, client,
                                                                                    settings):
    settings.PAYMENTS_TIMEOUT = 0.3
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id)
    zarinpal.stall_next(1, seconds=2, path="verify")  # Zarinpal verifies it; the answer comes too late
    response = come_back(client, zarinpal, payment.provider_payment_id)
    assert response.status_code == 200 and "not confirmed yet" in response.content.decode()
    assert len(zarinpal.calls_to("verify")) == 1  # a timeout is not retried on the customer's time
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == Payment.Status.PENDING and customer.balance_amount == 0 and not credits(payment)

    settings.PAYMENTS_TIMEOUT = 3.0
    result = services.payments_reconcile(now=later())
    assert result.credited == 1
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == Payment.Status.PAID and payment.status_detail.startswith("101 ")
    assert customer.balance_amount == TOPUP and len(credits(payment)) == 1


def test_a_gateway_down_in_the_callback_credits_nothing_until_asked_again(zarinpal, customer, client):
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id)
    zarinpal.fail_next(3, status=503, path="verify")
    response = come_back(client, zarinpal, payment.provider_payment_id)
    assert response.status_code == 200 and "not confirmed yet" in response.content.decode()
    customer.refresh_from_db()
    assert customer.balance_amount == 0 and not credits(payment)
    result = services.payments_reconcile(now=later())
    assert result.credited == 1 and len(credits(payment)) == 1


def test_the_reconciliation_skips_a_gateway_that_does_not_answer(zarinpal, customer):
    payment = start(customer)
    zarinpal.pay(payment.provider_payment_id)
    zarinpal.drop_next(3, path="verify")
    result = services.payments_reconcile(now=later())
    assert result.credited == 0 and len(result.errors) == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING and payment.checked_at is not None
    assert services.payments_reconcile(now=later()).credited == 1


@pytest.mark.django_db
def test_through_the_bot_topup_pick_zarinpal_pay_and_come_back(zarinpal, bot, fake_telegram, client):
    """The real Telegram path: /topup <amount> → the methods → Zarinpal → a Pay button to its
    page → paid at the bank → back on the shop → the wallet credited and the customer told."""
    from tests.conftest import TelegramUser

    user = TelegramUser(8_800_123, language_code="en", username=None)
    bot.send(user, "/topup 50000")
    datas = [b.get("callback_data") for b in fake_telegram.buttons(user.id)]
    assert "tpm:card:50000" in datas and "tpm:zarinpal:50000" in datas
    bot.press(user, "tpm:zarinpal:50000")
    payment = Payment.objects.get(customer__telegram_id=user.id)
    urls = [b.get("url") for b in fake_telegram.buttons(user.id) if b.get("url")]
    assert urls == [payment.pay_url] and payment.provider_payment_id in payment.pay_url
    assert "500,000 IRR" in fake_telegram.last_text(user.id)
    zarinpal.pay(payment.provider_payment_id)
    with bot.capture(execute=True):
        come_back(client, zarinpal, payment.provider_payment_id)
    payment.refresh_from_db()
    assert payment.status == "paid" and len(credits(payment)) == 1
    assert any("received by Zarinpal" in t for t in fake_telegram.sent_texts(user.id))
