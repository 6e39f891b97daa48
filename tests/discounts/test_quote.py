"""The quote engine (services/quote.py): which discounts apply, how they combine above the floor,
and which cashback a quote earns."""


import pytest
from django.utils import timezone, translation

from discounts.models import SmartDiscount
from tests.discounts.factories import CashbackRuleFactory, CustomerFactory, OrderFactory, PlanFactory, SmartDiscountFactory
from tests.discounts.helpers import local, quote_at
from vpnbot.shop.services import price_quote

pytestmark = pytest.mark.django_db
Kind = SmartDiscount.Kind


def test_first_purchase_only_without_a_paid_order(customer, plan):
    SmartDiscountFactory(kind=Kind.FIRST_PURCHASE, percent_bp=2000)
    assert price_quote(customer, plan, 1).discount_amount == 20_000
    OrderFactory(customer=customer, plan=plan)
    assert price_quote(customer, plan, 1).discount_amount == 0


@pytest.mark.parametrize("quantity, expected", [(1, 0), (3, 15_000), (6, 60_000), (12, 180_000)])
def test_bulk_tiers_by_quantity(customer, plan, quantity, expected):
    SmartDiscountFactory(kind=Kind.BULK, percent_bp=None, params={"basis": "quantity", "tiers": [
        {"min": 3, "percent_bp": 500}, {"min": 6, "percent_bp": 1000}, {"min": 12, "percent_bp": 1500}]})
    assert price_quote(customer, plan, quantity).discount_amount == expected


def test_bulk_tiers_by_amount_with_fixed_values(customer, plan):
    SmartDiscountFactory(kind=Kind.BULK, percent_bp=None, params={"basis": "amount", "tiers": [
        {"min": 300_000, "fixed_amount": 20_000}]})
    assert price_quote(customer, plan, 1).discount_amount == 0
    assert price_quote(customer, plan, 3).discount_amount == 20_000


def test_loyalty_by_level_from_lifetime_spend(customer, plan, settings):
    settings.LOYALTY_THRESHOLDS = "silver:200000,gold:1000000,platinum:5000000"
    SmartDiscountFactory(kind=Kind.LOYALTY, percent_bp=1000, params={"levels": ["gold", "platinum"]})
    OrderFactory(customer=customer, plan=plan, paid_amount=999_999, list_amount=999_999)
    assert price_quote(customer, plan, 1).discount_amount == 0  # silver
    OrderFactory(customer=customer, plan=plan, paid_amount=1, list_amount=1)
    assert price_quote(customer, plan, 1).discount_amount == 10_000  # gold


def test_code_is_case_insensitive_and_personal_codes_are_personal(customer, plan):
    SmartDiscountFactory(kind=Kind.CODE, code="SUMMER", percent_bp=1000)
    other = CustomerFactory()
    SmartDiscountFactory(kind=Kind.CODE, code="ONLYYOU", fixed_amount=5000, percent_bp=None, customer=other)
    assert price_quote(customer, plan, 1).discount_amount == 0
    assert price_quote(customer, plan, 1, code="summer").discount_amount == 10_000
    assert price_quote(customer, plan, 1, code="onlyyou").discount_amount == 0
    assert price_quote(other, plan, 1, code="OnlyYou").discount_amount == 5000


def test_conditions_decide(customer, plan):
    other_plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(percent_bp=1000, conditions={"all": [{"plan_in": [plan.pk]}, {"quantity": {"gte": 3}}]})
    assert price_quote(customer, plan, 1).discount_amount == 0
    assert price_quote(customer, plan, 3).discount_amount == 30_000
    assert price_quote(customer, other_plan, 3).discount_amount == 0


def test_active_window_pause_and_global_limit(customer, plan):
    d = SmartDiscountFactory(percent_bp=1000, starts_at=local(2026, 3, 1), ends_at=local(2026, 3, 10))
    assert quote_at(customer, plan, local(2026, 2, 28)).discount_amount == 0
    assert quote_at(customer, plan, local(2026, 3, 5)).discount_amount == 10_000
    assert quote_at(customer, plan, local(2026, 3, 10)).discount_amount == 0
    SmartDiscount.objects.filter(pk=d.pk).update(status="paused", updated_at=timezone.now())
    assert quote_at(customer, plan, local(2026, 3, 5)).discount_amount == 0
    SmartDiscount.objects.filter(pk=d.pk).update(status="active", max_uses=3, used_count=3, updated_at=timezone.now())
    assert quote_at(customer, plan, local(2026, 3, 5)).discount_amount == 0


def test_best_single_non_stackable_wins_then_stackables_by_priority_on_the_running_total(customer, plan):
    SmartDiscountFactory(percent_bp=1000, priority=50)            # 10 000
    best = SmartDiscountFactory(fixed_amount=20_000, percent_bp=None)  # 20 000 wins
    low = SmartDiscountFactory(percent_bp=1000, stackable=True, priority=1)
    high = SmartDiscountFactory(percent_bp=5000, stackable=True, priority=9)
    quote = price_quote(customer, plan, 1)
    assert [d.ref for d in quote.discounts] == [f"discount:{best.pk}", f"discount:{high.pk}", f"discount:{low.pk}"]
    # 100 000 - 20 000 = 80 000; -50% = 40 000; -10% = 36 000
    assert [d.amount for d in quote.discounts] == [20_000, 40_000, 4_000]
    assert quote.total_amount == 36_000


def test_cap_limits_a_percentage_and_rounding_is_down(customer):
    plan = PlanFactory(price_amount=99_999)
    SmartDiscountFactory(percent_bp=3333, cap_amount=30_000)
    assert price_quote(customer, plan, 1).discount_amount == 30_000
    SmartDiscount.objects.update(cap_amount=None, updated_at=timezone.now())
    assert price_quote(customer, plan, 1).discount_amount == 33_329  # 99 999 × 33.33% = 33 329.66…


def test_floor_keeps_the_price_at_min_price_percent(customer, plan, settings):
    settings.MIN_PRICE_PERCENT = 70
    SmartDiscountFactory(percent_bp=2000, stackable=True, priority=2)
    SmartDiscountFactory(percent_bp=2000, stackable=True, priority=1)
    quote = price_quote(customer, plan, 1)
    assert quote.total_amount == 70_000
    assert [d.amount for d in quote.discounts] == [20_000, 10_000]


def test_disabled_engine_gives_list_prices_and_no_cashback(customer, plan, settings):
    settings.DEFAULT_CASHBACK_PERCENT = 5
    SmartDiscountFactory(percent_bp=1000)
    assert price_quote(customer, plan, 1).total_amount == 90_000
    settings.ENABLE_SMART_DISCOUNTS = False
    quote = price_quote(customer, plan, 1)
    assert quote.total_amount == 100_000 and quote.discounts == [] and quote.cashback_amount == 0


def test_labels_in_the_customer_language(plan):
    SmartDiscountFactory(kind=Kind.FIRST_PURCHASE, percent_bp=1000)
    english = CustomerFactory(language="en")
    persian = CustomerFactory(language="fa")
    with translation.override("fa"):
        assert price_quote(english, plan, 1).discounts[0].label == "First purchase"
    assert price_quote(persian, plan, 1).discounts[0].label == "اولین خرید"


def test_cashback_rule_or_default_percent(customer, plan, settings):
    settings.DEFAULT_CASHBACK_PERCENT = 5
    assert price_quote(customer, plan, 1).cashback_amount == 5_000
    settings.DEFAULT_CASHBACK_PERCENT = 0
    assert price_quote(customer, plan, 1).cashback_amount == 0
    rule = CashbackRuleFactory(percent_bp=1000, cap_amount=8_000, min_amount=200_000)
    assert price_quote(customer, plan, 1).cashback_amount == 0  # below the minimum
    assert price_quote(customer, plan, 3).cashback_amount == 8_000  # capped
    other = PlanFactory()
    rule.plans.set([other])
    assert price_quote(customer, plan, 3).cashback_amount == 0

