"""Zarinpal under concurrency (PostgreSQL / MariaDB; skipped on SQLite): the same callback many
times at once, and the callback racing the reconciliation, credit the wallet once."""

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from payments import services
from payments.models import Payment
from tests.conftest import run_threads
from tests.factories import CustomerFactory
from tests.fakes.zarinpal import FakeZarinpal
from vpnbot.shop.models import Customer, WalletTransaction

MERCHANT = "1344b5d4-0048-11e8-94db-005056a205be"
TOPUP = 80_000


@pytest.fixture
def zarinpal(settings, fake_telegram):
    fake = FakeZarinpal(merchant_id=MERCHANT)
    settings.ZARINPAL_API_URL = fake.url
    settings.ZARINPAL_MERCHANT_ID = MERCHANT
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    settings.PAYMENTS_TIMEOUT = 10.0
    fake.latency = 0.05  # the verifies overlap
    yield fake
    fake.stop()


def paid_payment(fake) -> Payment:
    customer = CustomerFactory(balance_amount=0, language="en")
    payment = services.payment_start(provider_key="zarinpal", customer=customer, amount=TOPUP)
    fake.pay(payment.provider_payment_id)
    return payment


def callback(fake, payment):
    url = urlsplit(fake.return_url(payment.provider_payment_id))
    return Client().get(url.path, dict(parse_qsl(url.query)))


def assert_credited_once(payment):
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert WalletTransaction.objects.filter(source=f"pay:zarinpal:{payment.pk}").count() == 1
    assert WalletTransaction.objects.filter(customer_id=payment.customer_id).count() == 1
    assert Customer.objects.get(pk=payment.customer_id).balance_amount == TOPUP


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_same_callback_twenty_times_at_once_credits_once(zarinpal):
    payment = paid_payment(zarinpal)
    responses = run_threads(lambda i: callback(zarinpal, payment), 20)
    assert all(getattr(r, "status_code", None) == 200 for r in responses), responses
    assert all("Payment received" in r.content.decode() for r in responses)
    assert_credited_once(payment)
    verifies = zarinpal.calls_to("verify")
    assert 1 <= len(verifies) <= 20 and all(call.status == 200 for call in verifies)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_callback_racing_the_reconciliation_credits_once(zarinpal):
    payment = paid_payment(zarinpal)
    later = timezone.now() + timedelta(minutes=30)

    def act(i):
        if i % 2:
            return services.payments_reconcile(now=later)
        return callback(zarinpal, payment)

    results = run_threads(act, 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    reconciled = [r for r in results if isinstance(r, services.Reconciled)]
    assert sum(r.credited for r in reconciled) <= 1 and not any(r.errors for r in reconciled)
    assert all(r.status_code == 200 for r in results if not isinstance(r, services.Reconciled))
    assert_credited_once(payment)
