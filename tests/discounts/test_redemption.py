"""Redemption in the checkout (services/redemption.py): uses counted once under their limits, even
under concurrency, and given back on refund."""


import pytest

from discounts import services
from discounts.models import CashbackTransaction, DiscountUsage, SmartDiscount
from tests.conftest import run_threads
from tests.discounts.factories import CustomerFactory, SmartDiscountFactory
from tests.discounts.helpers import buy
from vpnbot.shop.models import Customer, Order, WalletTransaction
from vpnbot.shop.services import QuoteChanged, order_refund, price_quote

pytestmark = pytest.mark.django_db


def test_checkout_records_the_usage_and_the_counter(plan):
    customer = CustomerFactory.with_balance(500_000)
    discount = SmartDiscountFactory(percent_bp=1000, max_uses=5)
    order = buy(customer, plan, "k1")
    assert order.paid_amount == 90_000 and order.discount_amount == 10_000
    usage = DiscountUsage.objects.get()
    assert (usage.discount_id, usage.order_id, usage.amount) == (discount.pk, order.pk, 10_000)
    discount.refresh_from_db()
    assert discount.used_count == 1


def test_per_customer_limit(plan):
    customer = CustomerFactory.with_balance(500_000)
    SmartDiscountFactory(percent_bp=1000, per_customer_limit=2)
    assert [buy(customer, plan, f"k{i}").paid_amount for i in range(3)] == [90_000, 90_000, 100_000]
    assert DiscountUsage.objects.count() == 2
    assert buy(CustomerFactory.with_balance(500_000), plan, "other").paid_amount == 90_000


def test_limit_reached_between_quote_and_checkout_aborts_with_the_new_price(plan):
    customer = CustomerFactory.with_balance(500_000)
    discount = SmartDiscountFactory(percent_bp=1000, max_uses=1)
    quote = price_quote(customer, plan, 1)
    assert quote.total_amount == 90_000
    buy(CustomerFactory.with_balance(500_000), plan, "first")
    with pytest.raises(QuoteChanged) as exc:
        buy(customer, plan, "late", expected_total=quote.total_amount)
    assert exc.value.quote.total_amount == 100_000
    discount.refresh_from_db()
    assert discount.used_count == 1
    assert Customer.objects.get(pk=customer.pk).balance_amount == 500_000


def test_redeemer_refuses_a_stale_quote_whose_limit_is_gone(plan):
    """The redeemer itself re-checks the counter, even if the quote in the transaction was stale."""
    customer = CustomerFactory.with_balance(500_000)
    discount = SmartDiscountFactory(percent_bp=1000, max_uses=1)
    quote = price_quote(customer, plan, 1)
    SmartDiscount.objects.filter(pk=discount.pk).update(used_count=1)
    order = Order.objects.create(customer=customer, plan=plan, list_amount=100_000, paid_amount=90_000,
                                 idempotency_key="stale", status="paid")
    with pytest.raises(QuoteChanged) as exc:
        services.discount_redeem(order, quote)
    assert exc.value.quote.discounts == []


def test_refund_releases_the_use_and_reverses_cashback(plan, settings):
    settings.DEFAULT_CASHBACK_PERCENT = 5
    customer = CustomerFactory.with_balance(100_000)
    discount = SmartDiscountFactory(percent_bp=1000, max_uses=1, per_customer_limit=1)
    order = buy(customer, plan, "k1")
    cashback = CashbackTransaction.objects.get(order=order)
    assert cashback.amount == 4_500 and cashback.status == "credited"
    assert Customer.objects.get(pk=customer.pk).balance_amount == 100_000 - 90_000 + 4_500
    order_refund(order_id=order.pk, reason="test", by="admin")
    discount.refresh_from_db()
    assert discount.used_count == 0
    assert DiscountUsage.objects.get().released_at is not None
    cashback.refresh_from_db()
    assert (cashback.status, cashback.reversed_amount, cashback.unrecovered_amount) == ("reversed", 4_500, 0)
    assert Customer.objects.get(pk=customer.pk).balance_amount == 100_000
    reversal = WalletTransaction.objects.get(source=f"cashback_reversal:{order.pk}")
    assert reversal.amount == -4_500 and reversal.reason == "cashback_reversal"
    # the use is free again
    assert price_quote(Customer.objects.get(pk=customer.pk), plan, 1).total_amount == 90_000


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_ten_uses_under_fifty_concurrent_checkouts(plan):
    discount = SmartDiscountFactory(percent_bp=1000, max_uses=10)
    customers = [CustomerFactory.with_balance(200_000) for _ in range(50)]

    def attempt(i):
        return buy(customers[i], plan, f"race-{i}", expected_total=90_000)

    results = run_threads(attempt, 50)
    paid = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(paid) == 10, errors[:3]
    assert all(isinstance(e, QuoteChanged) and e.quote.total_amount == 100_000 for e in errors)
    discount.refresh_from_db()
    assert discount.used_count == 10
    assert DiscountUsage.objects.count() == 10


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_per_customer_limit_under_concurrency(plan):
    discount = SmartDiscountFactory(percent_bp=1000, per_customer_limit=1)
    customer = CustomerFactory.with_balance(2_000_000)

    results = run_threads(lambda i: buy(customer, plan, f"same-{i}"), 8)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, QuoteChanged)]
    assert DiscountUsage.objects.filter(discount=discount).count() == 1

