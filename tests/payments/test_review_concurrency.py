"""Races a bad day brings (PostgreSQL / MariaDB; skipped on SQLite): two admins crediting one
held payment (API and admin), the reconciliation expiring a payment as its money arrives, a
refund racing a late confirmation, a refused payment racing a credit."""

from decimal import Decimal

import pytest
from django.db import connections

from payments import providers, services
from payments.models import Payment
from payments.providers import Confirmation
from tests.conftest import run_threads
from tests.factories import CustomerFactory
from tests.payments.ops import stars_payment, use_fake_stars
from vpnbot.shop.models import Customer, WalletTransaction

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake_stars(fake_telegram):
    fake, restore = use_fake_stars()
    yield fake
    restore()


def paid(stars="50", charge="charge-1"):
    return Confirmation(providers.PAID, amount=Decimal(stars), currency="XTR", provider_payment_id=charge,
                        detail="successful_payment")


def balance(customer) -> int:
    return Customer.objects.get(pk=customer.pk).balance_amount


def test_two_admins_crediting_one_held_payment_credit_it_once(fake_stars):
    customer = CustomerFactory(balance_amount=0)
    payment = stars_payment(customer, status=Payment.Status.HELD)

    def credit(i):
        return services.payment_credit_held(payment_id=payment.pk, by=f"admin:{i}", reason="seen at Telegram").credited

    results = run_threads(credit, 8)
    connections.close_all()
    assert sum(r is True for r in results) == 1
    assert all(isinstance(r, services.PaymentsError) for r in results if r is not True)
    assert balance(customer) == 50_000 and WalletTransaction.objects.filter(customer=customer).count() == 1


def test_expiring_as_the_money_arrives_still_credits(fake_stars):
    for n in range(5):
        customer = CustomerFactory(balance_amount=0)
        payment = stars_payment(customer, status=Payment.Status.PENDING, charge=None)

        def race(i):
            if i % 2:
                return services.payment_expire(payment_id=payment.pk)
            return services.payment_confirm(payment_id=payment.pk, confirmation=paid(charge=f"c-{n}"),
                                            via="telegram").credited

        results = run_threads(race, 4)
        connections.close_all()
        assert [r for r in results if isinstance(r, Exception)] == []
        payment.refresh_from_db()
        assert payment.status == "paid" and balance(customer) == 50_000


def test_a_refund_racing_a_refusal_and_a_late_confirmation_moves_money_once(fake_stars):
    customer = CustomerFactory(balance_amount=0)
    payment = stars_payment(customer, status=Payment.Status.HELD)
    services.payment_credit_held(payment_id=payment.pk, by="admin:a", reason="seen")

    def race(i):
        if i == 0:
            return services.payment_refund_to_provider(payment_id=payment.pk, by="admin:b", reason="asked").status
        if i == 1:
            return services.payment_refuse(payment_id=payment.pk, by="admin:c", reason="no").status
        return services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="telegram").credited

    results = run_threads(race, 4)
    connections.close_all()
    assert results[0] == "refunded" and isinstance(results[1], services.PaymentsError)
    assert results[2:] == [False, False]
    assert fake_stars.refunded == [payment.pk] and balance(customer) == 0
