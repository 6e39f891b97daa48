"""Cashback (services/cashback.py): credited once on its day, taken back for the refunded share,
never below a zero balance."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from discounts import services, tasks
from discounts.models import CashbackRule, CashbackTransaction, UserDiscountProfile
from tests.discounts.factories import CashbackRuleFactory, CustomerFactory
from tests.discounts.helpers import buy
from vpnbot.shop.models import Customer, Order, WalletTransaction
from vpnbot.shop.services import order_refund, wallet_apply

pytestmark = pytest.mark.django_db


def test_reversal_never_drives_the_balance_negative(plan, settings):
    settings.DEFAULT_CASHBACK_PERCENT = 10
    customer = CustomerFactory.with_balance(100_000)
    order = buy(customer, plan, "k1")  # balance 0 + 10 000 cashback

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


def _prorata_refund_at_a_third(order):
    """Refund `order` for its unused two thirds; returns what was refunded."""
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



@pytest.mark.parametrize("stored", [{"percent_bp": 10**6}, {"fixed_amount": 10**15, "percent_bp": None}])
def test_cashback_stored_out_of_bounds_never_pays_back_more_than_was_paid(plan, stored):
    customer = CustomerFactory.with_balance(100_000)
    rule = CashbackRuleFactory(percent_bp=1000)
    CashbackRule.objects.filter(pk=rule.pk).update(**stored)  # written before the bounds, or around them
    order = buy(customer, plan, "k1")
    assert CashbackTransaction.objects.get(order=order).amount == order.paid_amount == 100_000


def test_a_default_cashback_set_above_100_percent_pays_back_at_most_what_was_paid(plan, settings):
    settings.DEFAULT_CASHBACK_PERCENT = 250
    order = buy(CustomerFactory.with_balance(100_000), plan, "k1")
    assert CashbackTransaction.objects.get(order=order).amount == 100_000
