"""A reseller's price: the tier, a per-plan price, a sub-reseller's markup over the parent and
the parent's floor, never above the list price, rounded down; the shop's smart discounts,
cashback and referral rewards stay out of it unless a discount is meant for resellers."""

from datetime import UTC, datetime

import pytest
import time_machine

from discounts.models import CashbackTransaction, DiscountUsage, SmartDiscount
from resellers import services
from tests.discounts.factories import CashbackRuleFactory, SmartDiscountFactory
from tests.factories import CustomerFactory, PlanFactory
from tests.resellers.core_support import balance, buy, make_reseller
from vpnbot.shop.models import ReferralReward
from vpnbot.shop.services import order_checkout

pytestmark = pytest.mark.django_db
Kind = SmartDiscount.Kind
NOON_TEHRAN = datetime(2026, 6, 10, 8, 30, tzinfo=UTC)  # 12:00 in Tehran


@pytest.fixture(autouse=True)
def _discounts_on(settings):
    settings.ENABLE_SMART_DISCOUNTS = True
    settings.MIN_PRICE_PERCENT = 0
    settings.DEFAULT_CASHBACK_PERCENT = 0
    settings.DEFAULT_CASHBACK_DELAY_DAYS = 0


@pytest.fixture
def plan():
    return PlanFactory(price_amount=100_000)


def unit(reseller, plan) -> int:
    reseller.refresh_from_db()
    return services.reseller_unit_price(reseller, plan)


def test_the_tier_takes_its_share_off_the_list_price(plan):
    reseller = make_reseller(discount_bp=1500)
    assert unit(reseller, plan) == 85_000
    quote = services.reseller_quote(reseller=reseller, plan=plan, periods=2)
    assert quote.resale and quote.total_amount == 170_000
    assert [d.ref for d in quote.discounts] == [f"reseller:{reseller.pk}"]


def test_a_price_of_their_own_for_a_plan_beats_the_tier(plan):
    other = PlanFactory(price_amount=100_000)
    reseller = make_reseller(discount_bp=1500, prices={plan.pk: 70_000})
    assert unit(reseller, plan) == 70_000
    assert unit(reseller, other) == 85_000  # the tier for the plans without a price


def test_a_sub_reseller_pays_the_parents_price_plus_the_markup(plan):
    parent = make_reseller(discount_bp=2000)
    sub = make_reseller(parent=parent, markup_bp=1000, discount_bp=5000)  # a sub's own tier does not count
    assert unit(parent, plan) == 80_000
    assert unit(sub, plan) == 88_000
    services.reseller_update(reseller_id=parent.pk, by="t", prices={plan.pk: 60_000})
    assert unit(sub, plan) == 66_000  # follows the parent's own price for the plan


def test_the_parents_floor_lifts_a_too_low_sub_price(plan):
    parent = make_reseller(discount_bp=5000, floor_bp=8000)
    sub = make_reseller(parent=parent, markup_bp=1000)
    assert unit(parent, plan) == 50_000  # the floor is for the sub-resellers only
    assert unit(sub, plan) == 80_000  # 55,000 lifted to 80 % of the list price
    services.reseller_update(reseller_id=sub.pk, by="t", prices={plan.pk: 10_000})
    assert unit(sub, plan) == 80_000  # a price of their own too


def test_never_above_the_list_price(plan):
    parent = make_reseller(prices={plan.pk: 95_000})
    sub = make_reseller(parent=parent, markup_bp=2000)
    assert unit(sub, plan) == 100_000  # 114,000 capped
    services.reseller_update(reseller_id=parent.pk, by="t", prices={plan.pk: 150_000})
    assert unit(parent, plan) == 100_000
    assert services.reseller_quote(reseller=parent, plan=plan).discount_amount == 0


def test_rounded_down_to_a_whole_unit():
    plan = PlanFactory(price_amount=99_999)
    parent = make_reseller(discount_bp=3333)
    # 99,999 × 33.33 % = 33,329.67 off -> 33,329 (the discount is rounded down)
    assert unit(parent, plan) == 66_670
    sub = make_reseller(parent=parent, markup_bp=1234)
    # 66,670 × 12.34 % = 8,227.078 -> 8,227
    assert unit(sub, plan) == 74_897


def _every_discount_and_a_cashback(customer):
    SmartDiscountFactory(kind=Kind.HOURLY, percent_bp=1500, params={"ranges": [["10:00", "14:00"]]})
    SmartDiscountFactory(kind=Kind.FIRST_PURCHASE, percent_bp=2000)
    SmartDiscountFactory(kind=Kind.SEASONAL, percent_bp=1000, params={"calendar": "gregorian", "from": "06-01",
                                                                      "to": "06-30"})
    CashbackRuleFactory(percent_bp=1000, customer=customer)


def test_no_smart_discount_or_cashback_leaks_into_a_reseller_purchase(plan):
    reseller = make_reseller(discount_bp=2000, balance_amount=1_000_000)
    _every_discount_and_a_cashback(reseller.customer)
    with time_machine.travel(NOON_TEHRAN, tick=True):
        quote = services.reseller_quote(reseller=reseller, plan=plan)
        assert quote.total_amount == 80_000 and quote.cashback_amount == 0
        purchase = buy(reseller, plan, 2)
        assert purchase.batch.unit_amount == 80_000 and purchase.batch.total_amount == 160_000
        assert balance(reseller.customer) == 1_000_000 - 160_000
        orders = [a.first_subscription.order for a in purchase.accounts]
        assert [o.paid_amount for o in orders] == [80_000, 80_000]
        assert not CashbackTransaction.objects.exists() and not DiscountUsage.objects.exists()
        # the same customer buying for themselves: the shop's discounts and cashback as usual
        own = order_checkout(customer_id=reseller.customer_id, plan_id=plan.pk, quantity=1, idempotency_key="own").order
    assert own.paid_amount == 85_000  # the happy hour (the first-purchase one: they had bought)
    assert CashbackTransaction.objects.get(order=own).amount == 8_500
    assert DiscountUsage.objects.filter(order=own).count() == 1


def test_a_discount_for_resellers_lowers_their_price_and_is_counted_per_account(plan):
    reseller = make_reseller(discount_bp=2000, balance_amount=1_000_000)
    meant = SmartDiscountFactory(kind=Kind.CONDITIONAL, percent_bp=1000, for_resellers=True)
    ordinary = SmartDiscountFactory(kind=Kind.CONDITIONAL, percent_bp=3000, stackable=True)
    CashbackRuleFactory(percent_bp=1000, customer=reseller.customer)
    quote = services.reseller_quote(reseller=reseller, plan=plan)
    assert quote.total_amount == 72_000  # 10 % off the reseller's 80,000, not off the list price
    assert quote.cashback_amount == 0
    assert [d.ref for d in quote.discounts] == [f"reseller:{reseller.pk}", f"discount:{meant.pk}"]
    purchase = buy(reseller, plan, 3)
    assert purchase.batch.unit_amount == 72_000
    assert balance(reseller.customer) == 1_000_000 - 216_000
    meant.refresh_from_db()
    ordinary.refresh_from_db()
    assert meant.used_count == 3 and ordinary.used_count == 0
    assert DiscountUsage.objects.filter(discount=meant).count() == 3
    assert not CashbackTransaction.objects.exists()
    # the customer's own checkout gets both, as always
    own = order_checkout(customer_id=reseller.customer_id, plan_id=plan.pk, quantity=1, idempotency_key="own").order
    assert own.paid_amount == 100_000 - 10_000 - 27_000


def test_an_ordinary_discount_leaves_the_reseller_price_alone(plan):
    reseller = make_reseller(discount_bp=2000, balance_amount=1_000_000)
    SmartDiscountFactory(kind=Kind.CONDITIONAL, percent_bp=5000)
    assert services.reseller_quote(reseller=reseller, plan=plan).total_amount == 80_000
    assert buy(reseller, plan).batch.unit_amount == 80_000


def test_no_referral_reward_on_a_reseller_purchase(plan, settings):
    settings.REFERRAL_REWARD_PERCENT = 10
    referrer = CustomerFactory()
    reseller = make_reseller(customer=CustomerFactory(referred_by=referrer), discount_bp=2000, balance_amount=500_000)
    buy(reseller, plan, 2)
    assert balance(referrer) == 0 and not ReferralReward.objects.exists()
    # another invited reseller buying for themselves: the referrer is paid as always
    other = make_reseller(customer=CustomerFactory(referred_by=referrer), balance_amount=500_000)
    order_checkout(customer_id=other.customer_id, plan_id=plan.pk, quantity=1, idempotency_key="own")
    assert balance(referrer) == 10_000
    assert ReferralReward.objects.get().referred_id == other.customer_id
