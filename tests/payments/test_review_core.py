"""An adversary's review of the payments' core: what a bad day does to a confirmation, the
reconciliation and a payment's start (each test failed before its fix)."""


from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments import providers, services
from payments.models import Payment
from payments.providers import Confirmation
from tests.payments.test_core import (
    ScriptedProvider,
    paid,
    scripted,  # noqa: F401  (fixture)
)
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Order, WalletTransaction
from vpnbot.shop.paymethods import Purchase


@pytest.mark.django_db
def test_order_placement_crashing_still_credits_the_money(scripted, customer, plan, fake_telegram, monkeypatch,  # noqa: F811
                                                          django_capture_on_commit_callbacks):
    """The provider took the money: an unexpected error while placing the order must not roll
    the credit back (the Stars would be gone, the wallet empty, the update failed)."""
    purchase = Purchase(plan_id=plan.pk, quantity=1, expected_total=plan.price_amount)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=plan.price_amount,
                                     purchase=purchase)

    def crash(**kwargs):
        raise RuntimeError("panel exploded")

    monkeypatch.setattr(shop_services, "order_checkout", crash)
    with django_capture_on_commit_callbacks(execute=True):
        applied = services.payment_confirm(payment_id=payment.pk, confirmation=paid("149"), via="telegram")
    assert applied.credited and applied.order is None
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == "paid" and customer.balance_amount == plan.price_amount
    assert [e["event"] for e in payment.timeline][-1] == "order not placed"
    assert "panel exploded" not in str(payment.timeline)  # an internal error is not the customer's text
    assert not Order.objects.exists()
    assert any("could not be placed" in t for t in fake_telegram.sent_texts(customer.telegram_id))


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["1e20", "-1e30", "123456789012345678.5"])
def test_an_amount_too_large_to_keep_is_held_not_an_error(scripted, customer, amount, fake_telegram):  # noqa: F811
    """A (verified) provider reporting an absurd amount: held for an admin with the number in the
    note, not a decimal.InvalidOperation on save (a 500 that the provider repeats for ever)."""
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    applied = services.payment_confirm(payment_id=payment.pk, via="ipn",
                                       confirmation=Confirmation(providers.PAID, amount=Decimal(amount),
                                                                 currency="XTR"))
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert applied.payment.status == "held" and payment.status == "held" and customer.balance_amount == 0
    assert payment.received_amount is None
    assert f"{Decimal(amount).normalize():f}" in payment.note and "E+" not in payment.note


@pytest.mark.django_db
def test_the_held_note_shows_a_reported_amount_plainly(scripted, customer, fake_telegram):  # noqa: F811
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    services.payment_confirm(payment_id=payment.pk, via="ipn",
                             confirmation=Confirmation(providers.PAID, amount=Decimal("1e3"), currency="XTR"))
    payment.refresh_from_db()
    assert payment.note == "paid 1000 XTR, asked 100 XTR"


@pytest.mark.django_db
def test_a_provider_id_already_on_another_payment_is_held_not_an_integrity_error(scripted, customer,  # noqa: F811
                                                                                  fake_telegram):
    first = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    Payment.objects.filter(pk=first.pk).update(provider_payment_id=None)
    services.payment_confirm(payment_id=first.pk, via="telegram",
                             confirmation=Confirmation(providers.PAID, amount=Decimal(100), currency="XTR",
                                                       provider_payment_id="charge-X"))
    second = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    Payment.objects.filter(pk=second.pk).update(provider_payment_id=None)
    applied = services.payment_confirm(payment_id=second.pk, via="telegram",
                                       confirmation=Confirmation(providers.PAID, amount=Decimal(100), currency="XTR",
                                                                 provider_payment_id="charge-X"))
    second.refresh_from_db()
    customer.refresh_from_db()
    assert applied.payment.status == "held" and second.status == "held" and second.provider_payment_id is None
    assert f"#{first.pk}" in second.note
    assert customer.balance_amount == 100_000  # the first only
    assert WalletTransaction.objects.filter(customer=customer).count() == 1


class _Counting(ScriptedProvider):
    def __init__(self):
        super().__init__()
        self.asked_for: list[int] = []
        self.errors: dict[int, Exception] = {}

    def check(self, payment):
        self.asked_for.append(payment.pk)
        if payment.pk in self.errors:
            raise self.errors[payment.pk]
        return self.answer


@pytest.fixture
def counting():
    original = providers.get("stars")
    provider = _Counting()
    providers.register(provider)
    yield provider
    providers.register(original)


@pytest.mark.django_db
def test_one_payment_failing_unexpectedly_does_not_stop_the_reconciliation(counting, customer, fake_telegram):
    """The oldest due payment crashing (a bug, a bad row) must not block every later payment's
    reconciliation run after run."""
    first = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    second = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    Payment.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=1))
    counting.errors[first.pk] = RuntimeError("boom")
    counting.answer = paid()
    result = services.payments_reconcile(now=timezone.now() + timedelta(hours=1))
    second.refresh_from_db()
    assert second.status == "paid" and result.credited == 1
    assert len(result.errors) == 1 and f"#{first.pk}" in result.errors[0]
    first.refresh_from_db()
    assert first.status == "pending"


@pytest.mark.django_db
def test_a_provider_that_does_not_answer_is_skipped_for_the_rest_of_the_run(counting, customer, fake_telegram):
    """As the reconciliation promises: a provider that is down is asked a few times per run, not
    once per payment (200 payments x timeouts x retries would hold the worker for hours)."""
    payments = [services.payment_start(provider_key="stars", customer=customer, amount=100_000) for _ in range(6)]
    for payment in payments:
        counting.errors[payment.pk] = providers.ProviderError("Telegram: timed out", retry=True)
    counting.errors.pop(payments[1].pk)  # answered: the count starts again
    result = services.payments_reconcile(now=timezone.now() + timedelta(hours=1))
    assert counting.asked_for == [p.pk for p in payments[:5]]
    assert result.checked == 5 and len(result.errors) == 4
    assert Payment.objects.filter(status="pending").count() == 6


@pytest.mark.django_db
def test_a_slow_provider_cannot_make_a_run_outlast_the_next(counting, customer, fake_telegram, monkeypatch):
    from payments.services import reconcile

    payments = [services.payment_start(provider_key="stars", customer=customer, amount=100_000) for _ in range(5)]
    clock = iter(range(0, 10_000, 100))  # each check takes 100 seconds
    monkeypatch.setattr(reconcile.time, "monotonic", lambda: next(clock))
    result = services.payments_reconcile(now=timezone.now() + timedelta(hours=1))
    assert counting.asked_for == [p.pk for p in payments[:2]] and result.checked == 2  # the third at 300s


@pytest.mark.django_db
def test_a_payment_specific_refusal_does_not_skip_the_provider(counting, customer, fake_telegram):
    first, second = (services.payment_start(provider_key="stars", customer=customer, amount=100_000) for _ in range(2))
    counting.errors[first.pk] = providers.ProviderError("not of this invoice", retry=False)
    counting.answer = paid()
    result = services.payments_reconcile(now=timezone.now() + timedelta(hours=1))
    assert counting.asked_for == [first.pk, second.pk] and result.credited == 1


@pytest.mark.django_db
def test_an_order_total_that_is_not_the_price_now_is_refused_at_start(scripted, customer, plan):  # noqa: F811
    """The total comes from a button (old, or typed by hand): the customer must not be asked to
    pay a price the order will then refuse."""
    stale = plan.price_amount
    plan.price_amount = 199_000
    plan.save()
    with pytest.raises(services.PaymentsError, match="price changed"):
        services.payment_start(provider_key="stars", customer=customer, amount=stale,
                               purchase=Purchase(plan_id=plan.pk, quantity=1, expected_total=stale))
    with pytest.raises(services.PaymentsError, match="price changed"):
        services.payment_start(provider_key="stars", customer=customer, amount=1,
                               purchase=Purchase(plan_id=plan.pk, quantity=1, expected_total=1))
    assert not Payment.objects.exists()
