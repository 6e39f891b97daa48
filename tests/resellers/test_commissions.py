"""The parent's commission on a sub-reseller's orders: credited once per order, taken back in
the share refunded (once), down to the parent's credit limit at most; none for a demoted
parent or a zero rate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from resellers import services
from resellers.models import Commission
from tests.factories import PlanFactory
from tests.resellers.core_support import balance, buy, ledger_sum, make_reseller
from vpnbot.shop.models import Order, WalletTransaction
from vpnbot.shop.services import ShopError, order_refund

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0


@pytest.fixture
def plan():
    return PlanFactory(price_amount=100_000, duration_days=30)


@pytest.fixture
def family():
    parent = make_reseller(discount_bp=2000, credit=50_000)
    sub = make_reseller(parent=parent, markup_bp=1000, commission_bp=1000, balance_amount=1_000_000)
    return parent, sub  # the sub pays 88,000 an account; the parent earns 8,800 on each


def test_credited_once_to_the_parent_for_each_order(family, plan):
    parent, sub = family
    purchase = buy(sub, plan, 2, key="k")
    orders = [a.first_subscription.order for a in purchase.accounts]
    assert balance(parent.customer) == 17_600 == ledger_sum(parent.customer)
    rows = WalletTransaction.objects.filter(customer=parent.customer, reason="commission").order_by("pk")
    assert [r.source for r in rows] == [f"commission:{o.pk}" for o in orders]
    assert [c.amount for c in Commission.objects.filter(reseller=parent).order_by("pk")] == [8_800, 8_800]
    buy(sub, plan, 2, key="k")  # the same purchase again: nothing more
    services.reseller_renew(reseller_id=sub.pk, account_id=purchase.accounts[0].pk, idempotency_key="r")
    services.reseller_renew(reseller_id=sub.pk, account_id=purchase.accounts[0].pk, idempotency_key="r")
    assert Commission.objects.count() == 3 and balance(parent.customer) == 26_400 == ledger_sum(parent.customer)


def test_a_prorata_refund_takes_back_the_share_and_nothing_twice(family, plan):
    parent, sub = family
    order = buy(sub, plan, 1).accounts[0].first_subscription.order
    half = order.subscription.starts_at + timedelta(days=15)
    order_refund(order_id=order.pk, mode="prorata", reason="half used", by="t", at=half)
    order.refresh_from_db()
    assert order.refunded_amount == 44_000
    commission = Commission.objects.get(order=order)
    assert (commission.reversed_amount, commission.unrecovered_amount) == (4_400, 0)
    assert balance(parent.customer) == 4_400 == ledger_sum(parent.customer)
    # the refund announced again (a receiver run twice), or asked again, takes nothing more
    services.commission_reverse(order_id=order.pk, refunded_amount=44_000)
    services.commission_reverse(order_id=order.pk, refunded_amount=order.refunded_amount)
    with pytest.raises(ShopError):  # the shop refuses a second refund of the order
        order_refund(order_id=order.pk, mode="full", reason="again", by="t")
    commission.refresh_from_db()
    assert commission.reversed_amount == 4_400
    assert balance(parent.customer) == 4_400 == ledger_sum(parent.customer)
    assert WalletTransaction.objects.filter(reason="commission_reversal").count() == 1


def test_a_full_refund_takes_it_all_back_once(family, plan):
    parent, sub = family
    order = buy(sub, plan, 1).accounts[0].first_subscription.order
    order_refund(order_id=order.pk, reason="asked", by="t")
    services.commission_reverse(order_id=order.pk)
    assert balance(parent.customer) == 0 == ledger_sum(parent.customer)
    assert Commission.objects.get(order=order).reversed_amount == 8_800


def test_a_parent_who_cannot_cover_it_gives_down_to_the_credit_limit_and_the_rest_is_not_recovered(family, plan):
    parent, sub = family
    order = buy(sub, plan, 1).accounts[0].first_subscription.order
    # the parent spends the commission and more on credit, then the limit is lowered to 75,000
    services.reseller_update(reseller_id=parent.pk, by="t", credit_limit_amount=80_000)
    buy(parent, plan, 1)
    assert balance(parent.customer) == 8_800 - 80_000
    services.reseller_update(reseller_id=parent.pk, by="t", credit_limit_amount=75_000)
    order_refund(order_id=order.pk, reason="asked", by="t")
    commission = Commission.objects.get(order=order)
    assert (commission.reversed_amount, commission.unrecovered_amount) == (3_800, 5_000)
    assert balance(parent.customer) == -75_000 == ledger_sum(parent.customer)
    services.commission_reverse(order_id=order.pk)  # again: the unrecovered part is not taken later
    assert balance(parent.customer) == -75_000
    commission.refresh_from_db()
    assert (commission.reversed_amount, commission.unrecovered_amount) == (3_800, 5_000)


def test_a_demoted_parent_earns_nothing(family, plan):
    parent, sub = family
    services.reseller_demote(reseller_id=parent.pk, by="t")
    buy(sub, plan, 1)
    assert balance(parent.customer) == 0 and not Commission.objects.exists()


def test_no_commission_at_zero(family, plan):
    parent, sub = family
    services.reseller_update(reseller_id=sub.pk, by="t", commission_bp=0)
    buy(sub, plan, 2)
    assert balance(parent.customer) == 0 and not Commission.objects.exists()
    assert Order.objects.filter(customer=sub.customer).count() == 2


def test_an_order_with_no_commission_is_ignored_on_refund(plan):
    reseller = make_reseller(balance_amount=500_000)
    order = buy(reseller, plan, 1).accounts[0].first_subscription.order
    order_refund(order_id=order.pk, reason="asked", by="t", at=timezone.now())
    assert services.commission_reverse(order_id=order.pk) is None
