"""NowPayments end to end against the fake API (tests/fakes/nowpayments.py): the invoice, the
signed IPNs POSTed to /payments/nowpayments/ipn/ as NowPayments does, credited once, the
status ladder, held partial or different payments, reconciliation by the payment id an IPN
told, faults, and the same IPN racing itself and the reconciliation on a real database."""

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from payments import providers, services
from payments.models import Payment
from payments.providers import nowpayments as np_provider
from tests.conftest import run_threads
from tests.fakes.nowpayments import FakeNowPayments, js_stringify
from vpnbot.shop.models import Customer, Order, WalletTransaction
from vpnbot.shop.paymethods import Purchase

IPN_URL = "/payments/nowpayments/ipn/"
RATE = Decimal("60000")  # 60,000 of the shop's currency per USD


@pytest.fixture(scope="session")
def nowpayments_server():
    server = FakeNowPayments()
    yield server
    server.stop()


@pytest.fixture
def fake_np(nowpayments_server, settings, monkeypatch):
    nowpayments_server.reset()
    settings.NOWPAYMENTS_API_URL = nowpayments_server.url
    settings.NOWPAYMENTS_API_KEY = nowpayments_server.api_key
    settings.NOWPAYMENTS_IPN_SECRET = nowpayments_server.ipn_secret
    settings.NOWPAYMENTS_RATE = RATE
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    settings.PAYMENTS_TIMEOUT = 5.0
    settings.PAYMENTS_MAX_RETRIES = 3
    settings.DEFAULT_CASHBACK_PERCENT = 0
    monkeypatch.setattr(np_provider, "RETRY_PAUSE", 0.01)
    yield nowpayments_server


@pytest.fixture
def ipn(client, django_capture_on_commit_callbacks):
    """POST an IPN the way NowPayments does; the messages it queues are sent."""

    def post(body: bytes, signature: str | None, **headers):
        if signature is not None:
            headers["HTTP_X_NOWPAYMENTS_SIG"] = signature
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(IPN_URL, data=body, content_type="application/json", **headers)

    return post


def start_topup(customer, amount=100_000) -> Payment:
    return services.payment_start(provider_key="nowpayments", customer=customer, amount=amount)


def balance(customer) -> int:
    return Customer.objects.get(pk=customer.pk).balance_amount


def credits(customer) -> int:
    return WalletTransaction.objects.filter(customer=customer, reason="topup").count()


def refreshed(payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


# --- the invoice -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_top_up_opens_an_invoice_in_usd_rounded_up_with_the_ipn_address(fake_np, customer):
    payment = start_topup(customer, 100_000)  # 100,000 / 60,000 = 1.6666... USD

    assert payment.currency == "USD" and payment.provider_amount == Decimal("1.67")
    invoice = fake_np.last_invoice()
    assert payment.provider_payment_id == invoice["id"] and invoice["id"].isdigit()
    assert payment.pay_url == invoice["invoice_url"] == f"https://nowpayments.io/payment/?iid={invoice['id']}"
    (call,) = fake_np.calls_to("/v1/invoice", "POST")
    assert call.headers["x-api-key"] == "right"
    assert call.body["price_amount"] == 1.67 and call.body["price_currency"] == "usd"
    assert call.body["order_id"] == f"pay-{payment.pk}"
    assert call.body["ipn_callback_url"] == "https://shop.example.com/payments/nowpayments/ipn/"
    assert call.body["order_description"].isascii()
    stored = refreshed(payment)
    assert stored.status == "pending" and stored.provider_payment_id == invoice["id"]
    assert stored.pay_url == invoice["invoice_url"]


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "rate", "usd"), [
    (120_000, "60000", "2.00"),  # exact: not rounded up
    (120_001, "60000", "2.01"),  # a hair above: up to the next cent
    (10_000, "1000000", "0.01"),  # below a cent: the 0.01 minimum
    (149_000, "59999.5", "2.49"),  # a decimal rate
])
def test_the_usd_price_is_the_amount_at_the_rate_rounded_up_to_the_cent(fake_np, settings, amount, rate, usd):
    settings.NOWPAYMENTS_RATE = Decimal(rate)
    asked = providers.get("nowpayments").asked(amount=amount)
    assert asked.amount == Decimal(usd) and asked.currency == "USD"


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["NOWPAYMENTS_API_KEY", "NOWPAYMENTS_IPN_SECRET", "NOWPAYMENTS_RATE"])
def test_without_key_secret_or_rate_nowpayments_is_off(fake_np, settings, customer, missing):
    setattr(settings, missing, Decimal("0") if missing == "NOWPAYMENTS_RATE" else "")
    assert not providers.get("nowpayments").enabled()
    with pytest.raises(services.PaymentsError):
        start_topup(customer)
    assert not fake_np.calls and not Payment.objects.exists()


@pytest.mark.django_db
def test_the_label_is_translated(fake_np):
    from django.utils import translation

    with translation.override("en"):
        english = providers.get("nowpayments").label()
    assert "NowPayments" in english


@pytest.mark.django_db
def test_without_public_base_url_no_invoice_is_made_and_the_payment_fails(fake_np, settings, customer):
    settings.PUBLIC_BASE_URL = ""
    with pytest.raises(services.PaymentsError, match="could not start"):
        start_topup(customer)
    payment = Payment.objects.get(customer=customer)
    assert payment.status == "failed" and "PUBLIC_BASE_URL" in payment.note
    assert not fake_np.calls_to("/v1/invoice")


@pytest.mark.django_db
def test_a_500_on_every_try_fails_the_payment_after_the_bounded_retries(fake_np, customer):
    fake_np.fail_next("/v1/invoice", "http500", times=10)
    with pytest.raises(services.PaymentsError, match="could not start"):
        start_topup(customer)
    payment = Payment.objects.get(customer=customer)
    assert payment.status == "failed" and "HTTP 500" in payment.note and not payment.pay_url
    assert len(fake_np.calls_to("/v1/invoice")) == 3  # PAYMENTS_MAX_RETRIES
    assert not fake_np.invoices


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["http500", "http502", "drop"])
def test_a_passing_fault_is_tried_again_and_the_invoice_is_made(fake_np, customer, fault):
    fake_np.fail_next("/v1/invoice", fault, times=1)
    payment = start_topup(customer)
    assert payment.provider_payment_id == fake_np.last_invoice()["id"]
    assert len(fake_np.calls_to("/v1/invoice")) == 2


@pytest.mark.django_db
def test_a_lost_answer_makes_a_second_invoice_and_only_the_one_answered_is_used(fake_np, customer):
    fake_np.fail_next("/v1/invoice", "drop_after_act", times=1)
    payment = start_topup(customer)
    assert len(fake_np.invoices) == 2  # the first one is an orphan nobody has the link of
    assert payment.provider_payment_id == fake_np.last_invoice()["id"]


@pytest.mark.django_db
def test_a_wrong_api_key_is_a_clear_failure_that_is_not_retried(fake_np, settings, customer):
    settings.NOWPAYMENTS_API_KEY = "WRONG00-KEY0000-KEY0000-KEY0000"
    with pytest.raises(services.PaymentsError):
        start_topup(customer)
    payment = Payment.objects.get(customer=customer)
    assert payment.status == "failed" and "403" in payment.note and "INVALID_API_KEY" in payment.note
    assert len(fake_np.calls_to("/v1/invoice")) == 1


@pytest.mark.django_db
def test_the_api_key_and_the_ipn_secret_are_never_logged(fake_np, customer, ipn, caplog):
    caplog.set_level(logging.DEBUG)
    fake_np.fail_next("/v1/invoice", "http500", times=3)
    with pytest.raises(services.PaymentsError):
        start_topup(customer)
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")
    ipn(body, "0" * 128)  # refused, logged
    ipn(body, signature)
    notes = " ".join(Payment.objects.values_list("note", flat=True))
    for secret in (fake_np.api_key, fake_np.ipn_secret):
        assert secret not in caplog.text and secret not in notes


@pytest.mark.django_db
def test_journey_topup_in_the_bot_shows_the_link_and_the_ipn_credits(bot, fake_np, fake_telegram, tg_user, ipn):
    tg_user.language_code = "en"
    bot.send(tg_user, "/start")
    customer = Customer.objects.get(telegram_id=tg_user.id)
    bot.send(tg_user, "/topup 100000")
    datas = [b.get("callback_data") for b in fake_telegram.buttons(tg_user.id)]
    assert "tpm:nowpayments:100000" in datas
    bot.press(tg_user, "tpm:nowpayments:100000")

    payment = Payment.objects.get(customer=customer)
    text = fake_telegram.last_text(tg_user.id)
    assert f"Payment #{payment.pk}" in text and "1.67 USD" in text
    links = [b for b in fake_telegram.buttons(tg_user.id) if b.get("url")]
    assert links and links[0]["url"] == fake_np.last_invoice()["invoice_url"] and "1.67 USD" in links[0]["text"]

    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")
    assert ipn(body, signature).status_code == 200
    assert balance(customer) == 100_000
    assert "received by NowPayments" in fake_telegram.last_text(tg_user.id)


# --- IPNs --------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_signed_finished_ipn_credits_once_and_the_same_ipn_again_changes_nothing(fake_np, customer, ipn,
                                                                                  fake_telegram):
    payment = start_topup(customer, 100_000)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")

    response = ipn(body, signature)
    assert response.status_code == 200
    paid = refreshed(payment)
    assert paid.status == "paid" and paid.paid_at is not None
    assert paid.received_amount == Decimal("1.67") and paid.received_currency == "USD"
    assert paid.status_detail.startswith("finished #")
    assert balance(customer) == 100_000 and credits(customer) == 1
    assert any("received by NowPayments" in t for t in fake_telegram.sent_texts(customer.telegram_id))

    again = ipn(body, signature)  # NowPayments sends it again (a lost answer, a re-send from the dashboard)
    assert again.status_code == 200
    assert balance(customer) == 100_000 and credits(customer) == 1
    assert sum("received by NowPayments" in t for t in fake_telegram.sent_texts(customer.telegram_id)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["missing", "garbage", "other_secret", "modified_body", "uppercase_other"])
def test_an_ipn_without_the_right_signature_is_refused_and_changes_nothing(fake_np, customer, ipn, case):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")
    if case == "missing":
        signature = None
    elif case == "garbage":
        signature = "not-a-signature"
    elif case == "other_secret":
        signature = hmac.new(b"someone else's secret", body, hashlib.sha512).hexdigest()
    elif case == "modified_body":  # the signature of the real IPN, over a body whose price was changed
        data = json.loads(body)
        data["price_amount"] = 1000
        body = js_stringify(data).encode()
    elif case == "uppercase_other":
        signature = "A" * 128
    response = ipn(body, signature)
    assert response.status_code == 403
    stored = refreshed(payment)
    assert stored.status == "pending" and stored.status_detail == "invoice created"
    assert balance(customer) == 0 and credits(customer) == 0


@pytest.mark.django_db
def test_the_signature_is_checked_over_the_sorted_body_not_over_the_bytes(fake_np, customer, ipn):
    """NowPayments signs the body sorted by keys (nested too): the same IPN with its keys in
    another order, and pretty-printed, is still NowPayments' IPN."""
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")
    data = json.loads(body)
    reordered = json.dumps(dict(reversed(list(data.items()))), indent=2, ensure_ascii=False).encode()
    assert reordered != body
    assert ipn(reordered, signature).status_code == 200
    assert refreshed(payment).status == "paid"


@pytest.mark.django_db
def test_tiny_crypto_amounts_and_non_ascii_text_verify_as_node_prints_them(fake_np, customer, ipn):
    """NowPayments signs with Node: 0.00000123 stays 0.00000123 (Python would write 1.23e-06)
    and Persian text is not escaped."""
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "confirming", actually_paid=0.00000123,
                                      pay_amount=0.00002777, order_description="خرید اشتراک")
    assert b"0.00000123" in body and "خرید".encode() in body
    assert ipn(body, signature).status_code == 200
    assert refreshed(payment).status_detail.startswith("confirming #")


@pytest.mark.django_db
def test_python_style_signature_from_nowpayments_python_example_is_accepted(fake_np, customer, ipn):
    payment = start_topup(customer)
    body, _signature = fake_np.ipn_for(payment.provider_payment_id, "finished")
    python_style = json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)
    signature = hmac.new(fake_np.ipn_secret.encode(), python_style.encode(), hashlib.sha512).hexdigest()
    assert ipn(body, signature).status_code == 200
    assert refreshed(payment).status == "paid"


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "status"), [(b"{not json", 400), (b"[1, 2]", 400), (b"", 400)])
def test_a_malformed_body_is_refused(fake_np, customer, ipn, body, status):
    payment = start_topup(customer)
    assert ipn(body, "ab" * 64).status_code == status
    assert refreshed(payment).status == "pending"


@pytest.mark.django_db
def test_a_huge_body_is_refused_before_anything(fake_np, customer, ipn):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished", order_description="x" * 70_000)
    assert ipn(body, signature).status_code == 413
    assert refreshed(payment).status == "pending" and balance(customer) == 0


@pytest.mark.django_db
def test_without_the_ipn_secret_an_ipn_is_refused_for_now(fake_np, customer, ipn, settings):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")
    settings.NOWPAYMENTS_IPN_SECRET = ""
    assert ipn(body, signature).status_code == 503  # NowPayments sends it again later
    assert refreshed(payment).status == "pending" and balance(customer) == 0


@pytest.mark.django_db
def test_only_post_is_answered(fake_np, client):
    assert client.get(IPN_URL).status_code == 405


@pytest.mark.django_db
def test_an_ipn_whose_order_is_another_payment_is_refused(fake_np, customer, ipn):
    mine = start_topup(customer)
    other = start_topup(customer)
    body, signature = fake_np.ipn_for(mine.provider_payment_id, "finished", order_id=f"pay-{other.pk}")
    assert ipn(body, signature).status_code == 400
    assert refreshed(mine).status == "pending" and refreshed(other).status == "pending"
    assert balance(customer) == 0


@pytest.mark.django_db
def test_an_ipn_of_another_invoice_naming_our_order_is_refused(fake_np, customer, ipn):
    mine = start_topup(customer)
    # a signed IPN for an invoice made elsewhere on the same NowPayments account, naming our order
    fake_np.invoices["9999999999"] = dict(fake_np.last_invoice(), id="9999999999", order_id=f"pay-{mine.pk}")
    body, signature = fake_np.ipn_for("9999999999", "finished")
    assert ipn(body, signature).status_code == 400
    assert refreshed(mine).status == "pending" and balance(customer) == 0


@pytest.mark.django_db
def test_a_signed_ipn_of_an_invoice_this_shop_never_made_is_ignored(fake_np, customer, ipn):
    start_topup(customer)
    fake_np.invoices["8888888888"] = dict(fake_np.last_invoice(), id="8888888888", order_id="donation-7")
    body, signature = fake_np.ipn_for("8888888888", "finished")
    assert ipn(body, signature).status_code == 404
    assert balance(customer) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["waiting", "confirming", "confirmed", "sending"])
def test_the_steps_before_finished_keep_the_payment_pending_and_record_the_status(fake_np, customer, ipn, status):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, status)
    assert ipn(body, signature).status_code == 200
    stored = refreshed(payment)
    assert stored.status == "pending" and stored.status_detail.startswith(f"{status} #")
    assert np_provider.known_payment_id(stored) == str(json.loads(body)["payment_id"])
    assert balance(customer) == 0


@pytest.mark.django_db
def test_the_whole_ladder_credits_once_at_finished(fake_np, customer, ipn, fake_telegram):
    payment = start_topup(customer)
    for status in ("waiting", "confirming", "confirmed", "sending", "finished", "finished"):
        body, signature = fake_np.ipn_for(payment.provider_payment_id, status)
        assert ipn(body, signature).status_code == 200
        assert balance(customer) == (100_000 if status == "finished" else 0)
    assert credits(customer) == 1 and refreshed(payment).status == "paid"


@pytest.mark.django_db
def test_partially_paid_is_held_for_an_admin_and_nothing_is_credited(fake_np, customer, ipn, fake_telegram, settings):
    settings.ADMIN_TELEGRAM_IDS = [9001]
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "partially_paid", actually_paid=0.00001)
    assert ipn(body, signature).status_code == 200
    held = refreshed(payment)
    assert held.status == "held" and balance(customer) == 0 and credits(customer) == 0
    assert "partially_paid" in held.note and "0.00001 of 0.00002783 BTC" in held.note
    assert any("is held" in t and f"#{payment.pk}" in t for t in fake_telegram.sent_texts(9001))
    assert any("does not match" in t for t in fake_telegram.sent_texts(customer.telegram_id))

    # a later "finished" for a held payment does not credit behind the admin's back
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")
    assert ipn(body, signature).status_code == 200
    assert refreshed(payment).status == "held" and balance(customer) == 0

    services.payment_credit_held(payment_id=payment.pk, by="admin:boss", reason="the rest came, checked at NowPayments")
    assert balance(customer) == 100_000 and credits(customer) == 1


@pytest.mark.django_db
def test_a_finished_ipn_of_another_price_is_held(fake_np, customer, ipn, fake_telegram, settings):
    settings.ADMIN_TELEGRAM_IDS = [9001]
    payment = start_topup(customer)  # 1.67 USD asked
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished", price_amount=1.5)
    assert ipn(body, signature).status_code == 200
    held = refreshed(payment)
    assert held.status == "held" and held.received_amount == Decimal("1.5") and balance(customer) == 0
    assert "1.67" in held.note
    assert any("is held" in t for t in fake_telegram.sent_texts(9001))


@pytest.mark.django_db
def test_a_finished_ipn_in_another_currency_is_held(fake_np, customer, ipn, fake_telegram):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished", price_currency="eur")
    assert ipn(body, signature).status_code == 200
    assert refreshed(payment).status == "held" and balance(customer) == 0


@pytest.mark.django_db
def test_a_finished_ipn_without_a_price_is_held_not_credited(fake_np, customer, ipn, fake_telegram):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished", price_amount=None)
    assert ipn(body, signature).status_code == 200
    assert refreshed(payment).status == "held" and balance(customer) == 0


@pytest.mark.django_db
def test_a_repeated_deposit_is_held_even_when_finished(fake_np, customer, ipn, fake_telegram):
    payment = start_topup(customer)
    first = fake_np.pay(payment.provider_payment_id, "partially_paid", actually_paid=0.00001)
    repeat = fake_np.pay(payment.provider_payment_id, "finished", parent_payment_id=first["payment_id"])
    body, signature = fake_np.ipn_of(repeat)
    assert ipn(body, signature).status_code == 200
    held = refreshed(payment)
    assert held.status == "held" and "repeated deposit" in held.note and balance(customer) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "final"), [("failed", "failed"), ("expired", "expired")])
def test_failed_and_expired_close_a_pending_payment(fake_np, customer, ipn, status, final):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, status)
    assert ipn(body, signature).status_code == 200
    assert refreshed(payment).status == final and balance(customer) == 0


@pytest.mark.django_db
def test_money_arriving_after_our_expiry_is_still_credited(fake_np, customer, ipn, fake_telegram, settings):
    payment = start_topup(customer)
    later = timezone.now() + timedelta(hours=settings.PAYMENTS_EXPIRE_HOURS + 1)
    assert services.payments_reconcile(now=later).expired == 1
    assert refreshed(payment).status == "expired"
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")
    assert ipn(body, signature).status_code == 200
    assert refreshed(payment).status == "paid" and balance(customer) == 100_000


@pytest.mark.django_db
def test_refunded_by_the_provider_credits_nothing_and_is_recorded(fake_np, customer, ipn):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "refunded")
    assert ipn(body, signature).status_code == 200
    stored = refreshed(payment)
    assert stored.status == "pending" and stored.status_detail.startswith("refunded #")
    assert any(e["event"] == "refunded" for e in stored.timeline)
    assert balance(customer) == 0 and credits(customer) == 0


@pytest.mark.django_db
def test_an_order_payment_places_the_order_at_finished(fake_np, customer, plan, ipn, fake_telegram):
    purchase = Purchase(plan_id=plan.pk, quantity=1, expected_total=plan.price_amount)
    payment = services.payment_start(provider_key="nowpayments", customer=customer, amount=plan.price_amount,
                                     purchase=purchase)
    assert payment.purpose == "order" and payment.provider_amount == Decimal("2.49")  # 149,000 / 60,000 up
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")
    assert ipn(body, signature).status_code == 200
    paid = refreshed(payment)
    order = Order.objects.get(customer=customer)
    assert paid.status == "paid" and paid.order_id == order.pk
    assert order.status == "paid" and order.paid_amount == plan.price_amount
    assert balance(customer) == 0  # credited 149,000, then paid the order with it
    assert any(f"Order #{order.pk}" in t for t in fake_telegram.sent_texts(customer.telegram_id))


# --- reconciliation ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_lost_finished_ipn_is_found_by_the_reconciliation_from_the_confirming_one(fake_np, customer, ipn,
                                                                                  fake_telegram, settings):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "confirming")
    assert ipn(body, signature).status_code == 200
    payment_id = json.loads(body)["payment_id"]
    fake_np.pay(payment.provider_payment_id, "finished", payment_id=payment_id)  # its IPN never arrives

    later = timezone.now() + timedelta(minutes=settings.PAYMENTS_CHECK_AFTER_MINUTES + 1)
    result = services.payments_reconcile(now=later)

    assert result.credited == 1 and not result.errors
    (call,) = fake_np.calls_to(f"/v1/payment/{payment_id}", "GET")
    assert call.headers["x-api-key"] == "right"
    assert refreshed(payment).status == "paid" and balance(customer) == 100_000
    assert services.payments_reconcile(now=later).checked == 0


@pytest.mark.django_db
def test_the_reconciliation_keeps_a_payment_still_confirming_pending(fake_np, customer, ipn, settings):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "waiting")
    ipn(body, signature)
    fake_np.pay(payment.provider_payment_id, "confirming", payment_id=json.loads(body)["payment_id"])
    later = timezone.now() + timedelta(minutes=settings.PAYMENTS_CHECK_AFTER_MINUTES + 1)
    result = services.payments_reconcile(now=later)
    assert result.checked == 1 and result.credited == 0
    stored = refreshed(payment)
    assert stored.status == "pending" and stored.status_detail.startswith("confirming #")


@pytest.mark.django_db
def test_without_any_ipn_there_is_nothing_to_ask_and_the_payment_expires(fake_np, customer, settings):
    """The list of an invoice's payments needs a dashboard login the shop does not have."""
    payment = start_topup(customer)
    fake_np.pay(payment.provider_payment_id, "finished")  # paid, but not one IPN reached the shop
    soon = timezone.now() + timedelta(minutes=settings.PAYMENTS_CHECK_AFTER_MINUTES + 1)
    assert services.payments_reconcile(now=soon).credited == 0
    assert refreshed(payment).status == "pending"
    assert not fake_np.calls_to("/v1/payment")
    later = timezone.now() + timedelta(hours=settings.PAYMENTS_EXPIRE_HOURS + 1)
    assert services.payments_reconcile(now=later).expired == 1
    assert refreshed(payment).status == "expired" and balance(customer) == 0


@pytest.mark.django_db
def test_nowpayments_down_leaves_the_payment_pending_for_the_next_run(fake_np, customer, ipn, settings):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "confirming")
    ipn(body, signature)
    fake_np.down = True
    later = timezone.now() + timedelta(minutes=settings.PAYMENTS_CHECK_AFTER_MINUTES + 1)
    result = services.payments_reconcile(now=later)
    assert result.errors and refreshed(payment).status == "pending"
    assert len(fake_np.calls_to("/v1/payment/")) == 3  # bounded retries, then the next run


@pytest.mark.django_db
def test_a_check_answer_of_another_invoice_is_not_believed(fake_np, customer, ipn):
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "confirming")
    ipn(body, signature)
    payment_id = json.loads(body)["payment_id"]
    fake_np.pay(payment.provider_payment_id, "finished", payment_id=payment_id, invoice_id=1234567890)
    with pytest.raises(services.PaymentsError):
        services.payment_check(payment_id=payment.pk)
    assert refreshed(payment).status == "pending" and balance(customer) == 0


def test_the_payment_id_is_read_only_from_what_an_ipn_or_a_check_wrote():
    payment = Payment(status_detail="invoice created", timeline=[
        {"event": "order placed", "detail": "order #77"},
        {"event": "credited by an admin", "detail": "admin:boss: see #88"}])
    assert np_provider.known_payment_id(payment) is None
    payment.timeline.insert(0, {"event": "partially_paid", "detail": "ipn: partially_paid #5592161154: paid 1 of 2 BTC"})
    assert np_provider.known_payment_id(payment) == "5592161154"
    payment.status_detail = "confirming #5592161999"
    assert np_provider.known_payment_id(payment) == "5592161999"


@pytest.mark.django_db
def test_the_list_of_an_invoices_payments_really_needs_a_login(fake_np, settings):
    """What the reconciliation's design rests on, as the fake models it from the docs."""
    import httpx

    answer = httpx.get(f"{fake_np.url}/v1/payment/", params={"invoiceId": "1"},
                       headers={"x-api-key": settings.NOWPAYMENTS_API_KEY})
    assert answer.status_code == 401 and answer.json()["statusCode"] == 401


# --- at once, on a real database ---------------------------------------------------------------------

def _post_in_thread(body: bytes, signature: str) -> int:
    return Client().post(IPN_URL, data=body, content_type="application/json",
                         HTTP_X_NOWPAYMENTS_SIG=signature).status_code


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_same_signed_ipn_20_times_at_once_credits_once(fake_np, fake_telegram):
    from tests.factories import CustomerFactory

    customer = CustomerFactory(balance_amount=0)
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")

    results = run_threads(lambda i: _post_in_thread(body, signature), 20)
    connections.close_all()

    assert results == [200] * 20
    assert refreshed(payment).status == "paid"
    assert balance(customer) == 100_000 and credits(customer) == 1


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_ipn_and_the_reconciliation_racing_credit_once(fake_np, fake_telegram):
    from tests.factories import CustomerFactory

    customer = CustomerFactory(balance_amount=0)
    payment = start_topup(customer)
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "confirming")
    assert _post_in_thread(body, signature) == 200
    body, signature = fake_np.ipn_for(payment.provider_payment_id, "finished")

    def confirm(i):
        if i % 2:
            return services.payment_check(payment_id=payment.pk, via="reconciliation").credited
        return _post_in_thread(body, signature)

    results = run_threads(confirm, 20)
    connections.close_all()

    assert [r for r in results if isinstance(r, Exception)] == []
    assert [r for r in results[0::2]] == [200] * 10
    assert sum(r is True for r in results[1::2]) <= 1
    assert refreshed(payment).status == "paid"
    assert balance(customer) == 100_000 and credits(customer) == 1
