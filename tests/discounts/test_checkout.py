from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from discounts import services
from discounts.models import CashbackTransaction, DiscountUsage, SmartDiscount, UserDiscountProfile
from tests.conftest import run_threads
from tests.discounts.factories import CashbackRuleFactory, CustomerFactory, PlanFactory, SmartDiscountFactory
from vpnbot.shop.models import Customer, WalletTransaction
from vpnbot.shop.services import QuoteChanged, order_checkout, order_refund, price_quote

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.ENABLE_SMART_DISCOUNTS = True
    settings.DEFAULT_CASHBACK_PERCENT = 0
    settings.DEFAULT_CASHBACK_DELAY_DAYS = 0
    settings.MIN_PRICE_PERCENT = 0


@pytest.fixture
def plan():
    return PlanFactory(price_amount=100_000)


def buy(customer, plan, key, quantity=1, code="", expected_total=None):
    return order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=quantity, idempotency_key=key, code=code,
                          expected_total=expected_total).order


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
    from vpnbot.shop.models import Order

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


def test_reversal_never_drives_the_balance_negative(plan, settings):
    settings.DEFAULT_CASHBACK_PERCENT = 10
    customer = CustomerFactory.with_balance(100_000)
    order = buy(customer, plan, "k1")  # balance 0 + 10 000 cashback
    from vpnbot.shop.services import wallet_apply

    wallet_apply(customer_id=customer.pk, amount=-10_000, reason="adjustment", source="spend-it")
    services.cashback_reverse(order_id=order.pk)  # as if the refund paid nothing back
    cashback = CashbackTransaction.objects.get()
    assert (cashback.reversed_amount, cashback.unrecovered_amount) == (0, 10_000)
    assert Customer.objects.get(pk=customer.pk).balance_amount == 0
    assert services.cashback_reverse(order_id=order.pk).status == "reversed"  # twice: once


def test_delayed_cashback_is_credited_by_the_beat_job_exactly_once(plan):
    customer = CustomerFactory.with_balance(100_000)
    CashbackRuleFactory(percent_bp=1000, delay_days=7)
    order = buy(customer, plan, "k1")
    cashback = CashbackTransaction.objects.get(order=order)
    assert cashback.status == "pending" and cashback.amount == 10_000
    from discounts import tasks

    assert tasks.credit_due_cashback() == 0
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert tasks.credit_due_cashback() == 1
        assert tasks.credit_due_cashback() == 0
        assert services.cashback_credit(transaction_id=cashback.pk) is False
    assert WalletTransaction.objects.filter(source=f"cashback:{order.pk}").count() == 1
    assert Customer.objects.get(pk=customer.pk).balance_amount == 10_000


def test_refund_before_the_delayed_cashback_cancels_it(plan):
    customer = CustomerFactory.with_balance(100_000)
    CashbackRuleFactory(percent_bp=1000, delay_days=7)
    order = buy(customer, plan, "k1")
    order_refund(order_id=order.pk, reason="test", by="admin")
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert services.cashback_credit_due() == 0
    assert CashbackTransaction.objects.get().status == "cancelled"
    assert not WalletTransaction.objects.filter(reason="cashback").exists()


def test_cashback_notification_and_profile(plan, settings, notices):
    settings.DEFAULT_CASHBACK_PERCENT = 5
    settings.LOYALTY_THRESHOLDS = "silver:150000"
    SmartDiscountFactory(kind="loyalty", percent_bp=700, params={"levels": ["silver"]})
    customer = CustomerFactory.with_balance(500_000, language="en")
    buy(customer, plan, "k1")
    buy(customer, plan, "k2")
    kinds = [(n["kind"], n["dedup_key"]) for n in notices]
    assert kinds.count(("cashback", f"cashback:{customer.orders.order_by('id')[0].pk}")) == 1
    assert ("new_discount", f"level:{customer.pk}:silver") in kinds
    texts = [n["text"] for n in notices]
    assert "💸 Cashback: 5,000 Toman for order" in texts[0]
    assert any("You reached the Silver level" in t and "7%" in t for t in texts)
    profile = UserDiscountProfile.objects.get(customer=customer)
    assert (profile.level, profile.lifetime_spend_amount, profile.paid_orders) == ("silver", 200_000, 2)
    assert profile.cashback_earned_amount == 10_000


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


def test_refund_recomputes_the_loyalty_level(plan, settings):
    settings.LOYALTY_THRESHOLDS = "silver:150000"
    customer = CustomerFactory.with_balance(500_000)
    buy(customer, plan, "k1")
    order = buy(customer, plan, "k2")
    assert UserDiscountProfile.objects.get(customer=customer).level == "silver"
    order_refund(order_id=order.pk, reason="test", by="admin")
    profile = UserDiscountProfile.objects.get(customer=customer)
    assert (profile.level, profile.lifetime_spend_amount, profile.paid_orders) == ("bronze", 100_000, 1)


def test_gregorian_birth_months_by_setting(plan, settings):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    settings.CALENDAR = "gregorian"
    customer = CustomerFactory(birth_month=3)
    SmartDiscountFactory(kind="birthday", percent_bp=1000)
    with time_machine.travel(datetime(2026, 3, 31, 23, 0, tzinfo=ZoneInfo("Asia/Tehran")), tick=False):
        assert price_quote(customer, plan, 1).discount_amount == 10_000
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=ZoneInfo("Asia/Tehran")), tick=False):
        assert price_quote(customer, plan, 1).discount_amount == 0


def _prorata_refund_at_a_third(order):
    """Refund `order` for its unused two thirds; returns what was refunded."""
    from vpnbot.shop.models import Order

    sub = order.subscription
    at = sub.starts_at + (sub.expires_at - sub.starts_at) / 3
    refunded = order_refund(order_id=order.pk, mode="prorata", reason="unused time", by="admin", at=at).refunded_amount
    assert 0 < refunded < Order.objects.get(pk=order.pk).paid_amount
    return refunded


def test_prorata_refund_takes_back_the_same_share_of_the_cashback_rounded_up(plan, settings):
    settings.DEFAULT_CASHBACK_PERCENT = 7
    customer = CustomerFactory.with_balance(100_000)
    order = buy(customer, plan, "k1")  # pays 100 000, 7 000 cashback credited
    refunded = _prorata_refund_at_a_third(order)
    share = -(-7_000 * refunded // 100_000)  # 66 666 refunded -> 4 666.62 -> 4 667
    assert share < 7_000
    cashback = CashbackTransaction.objects.get(order=order)
    assert (cashback.status, cashback.reversed_amount, cashback.unrecovered_amount) == ("reversed", share, 0)
    assert Customer.objects.get(pk=customer.pk).balance_amount == 7_000 + refunded - share
    assert WalletTransaction.objects.get(source=f"cashback_reversal:{order.pk}").amount == -share
    profile = UserDiscountProfile.objects.get(customer=customer)
    assert profile.cashback_earned_amount == 7_000 - share


def test_prorata_refund_of_a_pending_cashback_keeps_the_rest_for_its_day(plan):
    customer = CustomerFactory.with_balance(100_000)
    CashbackRuleFactory(percent_bp=1000, delay_days=7)
    order = buy(customer, plan, "k1")
    refunded = _prorata_refund_at_a_third(order)
    cashback = CashbackTransaction.objects.get(order=order)
    rest = 10_000 - -(-10_000 * refunded // 100_000)
    assert (cashback.status, cashback.amount) == ("pending", rest)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert services.cashback_credit_due() == 1
    assert Customer.objects.get(pk=customer.pk).balance_amount == refunded + rest


def test_reversal_takes_back_no_more_than_the_cashback_still_held(plan, settings):
    settings.DEFAULT_CASHBACK_PERCENT = 10
    customer = CustomerFactory.with_balance(100_000)
    order = buy(customer, plan, "k1")  # balance 0 + 10 000 cashback
    from vpnbot.shop.services import wallet_apply

    wallet_apply(customer_id=customer.pk, amount=-8_000, reason="adjustment", source="spend-it")  # 2 000 left
    cashback = services.cashback_reverse(order_id=order.pk, refunded_amount=60_000)  # 6 000 owed, 2 000 there
    assert (cashback.reversed_amount, cashback.unrecovered_amount) == (2_000, 4_000)
    wallet_apply(customer_id=customer.pk, amount=50_000, reason="adjustment", source="top-up")
    cashback = services.cashback_reverse(order_id=order.pk, refunded_amount=60_000)  # 6 000 more, 4 000 held
    assert (cashback.reversed_amount, cashback.unrecovered_amount) == (6_000, 4_000)
    assert Customer.objects.get(pk=customer.pk).balance_amount == 50_000 - 4_000
    assert services.cashback_reverse(order_id=order.pk).reversed_amount == 6_000  # nothing left to take
    assert services.cashback_clawback(10_000, refunded=1, paid=100_000) == 1
    assert services.cashback_clawback(10_000, refunded=None, paid=100_000) == 10_000


def test_profiles_catch_up_on_orders_paid_while_switched_off(plan, settings, notices):
    from discounts import tasks

    settings.LOYALTY_THRESHOLDS = "silver:150000"
    SmartDiscountFactory(kind="loyalty", percent_bp=700, params={"levels": ["silver"]})
    customer = CustomerFactory.with_balance(500_000, language="en")
    newcomer = CustomerFactory.with_balance(500_000, language="en")
    buy(customer, plan, "k1")
    assert UserDiscountProfile.objects.get(customer=customer).level == "bronze"
    settings.ENABLE_SMART_DISCOUNTS = False
    buy(customer, plan, "k2")
    buy(newcomer, plan, "n1")
    buy(newcomer, plan, "n2")
    assert UserDiscountProfile.objects.get(customer=customer).paid_orders == 1  # stale while off
    assert not UserDiscountProfile.objects.filter(customer=newcomer).exists()
    assert tasks.profiles_catch_up() == 0  # nothing while still off
    settings.ENABLE_SMART_DISCOUNTS = True
    assert tasks.profiles_catch_up() == 2
    for who in (customer, newcomer):
        profile = UserDiscountProfile.objects.get(customer=who)
        assert (profile.level, profile.lifetime_spend_amount, profile.paid_orders) == ("silver", 200_000, 2)
        assert ("new_discount", f"level:{who.pk}:silver") in [(n["kind"], n["dedup_key"]) for n in notices]
    assert tasks.profiles_catch_up() == 0  # caught up: nothing more to do


def test_profile_shown_catches_up_on_orders_paid_while_switched_off(plan, settings):
    settings.LOYALTY_THRESHOLDS = "silver:150000"
    customer = CustomerFactory.with_balance(500_000)
    buy(customer, plan, "k1")
    settings.ENABLE_SMART_DISCOUNTS = False
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        buy(customer, plan, "k2")
    settings.ENABLE_SMART_DISCOUNTS = True
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        profile = services.profile_get(customer=Customer.objects.get(pk=customer.pk))
    assert (profile.level, profile.paid_orders) == ("silver", 2)
