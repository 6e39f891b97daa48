"""The payments' core, provider-neutral: confirmations applied once with the right outcome,
decisions by an admin, the customer's cancel, card receipts in the one list, the daily summary."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments import providers, services
from payments.models import Payment
from payments.providers import Confirmation
from tests.factories import CustomerFactory
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Order, WalletTransaction
from vpnbot.shop.paymethods import Purchase


class ScriptedProvider(providers.Provider):
    """A provider whose answers the test sets (the real ones have their own fakes and tests)."""

    key = "stars"  # stands in for a registered key; restored after the test
    currency = "XTR"

    def __init__(self):
        self.answer = Confirmation(providers.PENDING)
        self.fail_start = False

    def enabled(self):
        return True

    def label(self):
        return "Scripted"

    def asked(self, *, amount, plan=None, quantity=1):
        return providers.Asked(Decimal(amount) / 1000, self.currency)

    def start(self, payment):
        if self.fail_start:
            raise providers.ProviderError("down")
        return providers.Opened(provider_payment_id=f"sp-{payment.pk}", url="https://pay.example.com/x")

    def check(self, payment):
        return self.answer


@pytest.fixture
def scripted():
    original = providers.get("stars")
    provider = ScriptedProvider()
    providers.register(provider)
    yield provider
    providers.register(original)


def paid(amount="100"):
    return Confirmation(providers.PAID, amount=Decimal(amount), currency="XTR", detail="finished")


@pytest.mark.django_db
def test_paid_credits_once_and_tells_the_customer(scripted, customer, fake_telegram):
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    assert payment.provider_payment_id == f"sp-{payment.pk}" and payment.provider_amount == 100
    first = services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="callback")
    again = services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="poll")
    assert first.credited and not again.credited
    customer.refresh_from_db()
    assert customer.balance_amount == 100_000
    ledger = WalletTransaction.objects.get(customer=customer)
    assert ledger.source == f"pay:stars:{payment.pk}" and ledger.reason == "topup"
    payment.refresh_from_db()
    assert [e["event"] for e in payment.timeline] == ["created", "opened", "paid"]


@pytest.mark.django_db
@pytest.mark.parametrize("amount,currency", [("99", "XTR"), ("100", "USD")])
def test_paid_with_another_amount_or_currency_is_held_not_credited(scripted, customer, amount, currency, settings,
                                                                  fake_telegram, django_capture_on_commit_callbacks):
    settings.ADMIN_TELEGRAM_IDS = [9001]
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_confirm(payment_id=payment.pk, via="callback",
                                 confirmation=Confirmation(providers.PAID, amount=Decimal(amount), currency=currency))
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == "held" and customer.balance_amount == 0
    assert payment.received_amount == Decimal(amount) and payment.received_currency == currency
    assert f"paid {amount} {currency}, asked 100 XTR" == payment.note  # 100, not 1E+2
    assert any(f"#{payment.pk}" in t and "held" in t for t in fake_telegram.sent_texts(9001))
    # a later "paid" (the poll) does not credit a held payment behind the admin's back
    services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="poll")
    customer.refresh_from_db()
    assert customer.balance_amount == 0


@pytest.mark.django_db
def test_pending_failed_expired_and_a_late_payment_after_cancel(scripted, customer):
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    services.payment_confirm(payment_id=payment.pk, via="ipn", confirmation=Confirmation(providers.PENDING,
                                                                                          detail="confirming"))
    payment.refresh_from_db()
    assert payment.status == "pending" and payment.status_detail == "confirming"
    services.payment_cancel(payment_id=payment.pk, customer_id=customer.pk)
    with pytest.raises(services.PaymentsError):
        services.payment_cancel(payment_id=payment.pk, customer_id=customer.pk)
    # the money arrives after all: it is credited, never lost
    assert services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="ipn").credited
    customer.refresh_from_db()
    assert customer.balance_amount == 100_000

    other = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    services.payment_confirm(payment_id=other.pk, confirmation=Confirmation(providers.FAILED), via="ipn")
    other.refresh_from_db()
    assert other.status == "failed"


@pytest.mark.django_db
def test_a_provider_down_at_start_leaves_a_failed_payment_and_a_clear_error(scripted, customer):
    scripted.fail_start = True
    with pytest.raises(services.PaymentsError, match="could not start"):
        services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    payment = Payment.objects.get()
    assert payment.status == "failed" and payment.note == "down"


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [0, -5, 10**15, True, "100000"])
def test_bad_amounts_are_refused_before_anything_is_made(scripted, customer, amount):
    with pytest.raises(services.PaymentsError):
        services.payment_start(provider_key="stars", customer=customer, amount=amount)
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_an_order_payment_places_the_order_or_keeps_the_money_when_the_price_changed(scripted, customer, plan,
                                                                                    fake_telegram,
                                                                                    django_capture_on_commit_callbacks):
    purchase = Purchase(plan_id=plan.pk, quantity=1, expected_total=plan.price_amount)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=plan.price_amount,
                                     purchase=purchase)
    applied = services.payment_confirm(payment_id=payment.pk, confirmation=paid("149"), via="callback")
    assert applied.order is not None and applied.order.status == "paid"

    second = services.payment_start(provider_key="stars", customer=customer, amount=plan.price_amount,
                                    purchase=purchase)
    plan.price_amount = 199_000  # the price changed while the customer was paying
    plan.save()
    with django_capture_on_commit_callbacks(execute=True):
        applied = services.payment_confirm(payment_id=second.pk, confirmation=paid("149"), via="callback")
    assert applied.credited and applied.order is None
    customer.refresh_from_db()
    assert customer.balance_amount == 149_000 and Order.objects.filter(customer=customer).count() == 1
    assert any("could not be placed" in t and "wallet" in t for t in fake_telegram.sent_texts(customer.telegram_id))


@pytest.mark.django_db
def test_an_order_payment_for_a_changed_price_is_refused_at_start(scripted, customer, plan):
    with pytest.raises(services.PaymentsError, match="price changed"):
        services.payment_start(provider_key="stars", customer=customer, amount=1000,
                               purchase=Purchase(plan_id=plan.pk, quantity=1, expected_total=999))


@pytest.mark.django_db
def test_refuse_needs_a_reason_and_is_final(scripted, customer):
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    with pytest.raises(services.PaymentsError):
        services.payment_refuse(payment_id=payment.pk, by="admin", reason="  ")
    services.payment_refuse(payment_id=payment.pk, by="admin", reason="paid elsewhere")
    with pytest.raises(services.PaymentsError):
        services.payment_credit_held(payment_id=payment.pk, by="admin", reason="changed my mind")
    assert services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="poll").credited is False
    customer.refresh_from_db()
    assert customer.balance_amount == 0


@pytest.mark.django_db
def test_a_provider_that_does_not_answer_keeps_the_payment_pending_in_reconciliation(scripted, customer,
                                                                                    monkeypatch):
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)

    def down(_payment):
        raise providers.ProviderError("timed out")

    monkeypatch.setattr(scripted, "check", down)
    result = services.payments_reconcile(now=timezone.now() + timedelta(days=2))
    payment.refresh_from_db()
    assert result.errors and payment.status == "pending"  # not expired on a provider's silence


@pytest.mark.django_db
def test_card_receipts_join_the_one_list_and_follow_their_review(customer):
    receipt = shop_services.payment_submit(customer=customer, amount=200_000, receipt_file_id="AgAC-1")
    row = Payment.objects.get(receipt=receipt)
    assert row.provider == "card" and row.status == "pending" and row.amount == 200_000
    shop_services.payment_approve(payment_id=receipt.pk, reviewer="admin:boss")
    row.refresh_from_db()
    assert row.status == "paid" and row.decided_by == "admin:boss" and row.paid_at
    other = shop_services.payment_submit(customer=customer, amount=150_000, receipt_file_id="AgAC-2")
    shop_services.payment_reject(payment_id=other.pk, reviewer="admin:boss", reason="blurry")
    assert Payment.objects.get(receipt=other).status == "refused"
    with pytest.raises(services.PaymentsError):  # a card row is decided as a top-up
        services.payment_credit_held(payment_id=Payment.objects.get(receipt=other).pk, by="x", reason="y")
    customer.refresh_from_db()
    assert customer.balance_amount == 200_000  # credited once, by the top-up's approval


@pytest.mark.django_db
def test_daily_summary_per_provider_once_a_day(scripted, settings, fake_telegram, django_capture_on_commit_callbacks):
    settings.ADMIN_TELEGRAM_IDS = [9001]
    customer = CustomerFactory()
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    services.payment_confirm(payment_id=payment.pk, confirmation=paid(), via="callback")
    held = services.payment_start(provider_key="stars", customer=customer, amount=50_000)
    services.payment_confirm(payment_id=held.pk, confirmation=paid("1"), via="callback")
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        summary = services.payments_summary_send(day=today)
    assert summary["paid"] == {"stars": (1, 100_000)} and summary["held"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.payments_summary_send(day=today)
    texts = [t for t in fake_telegram.sent_texts(9001) if "Payments on" in t]
    assert len(texts) == 1 and "100,000" in texts[0].replace("٬", ",") and "1 held" in texts[0]
