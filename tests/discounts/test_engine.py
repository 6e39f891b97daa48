from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import jdatetime
import pytest
import time_machine
from django.utils import timezone, translation

from discounts.models import SmartDiscount
from tests.discounts.factories import CustomerFactory, OrderFactory, PlanFactory, SmartDiscountFactory
from vpnbot.shop.services import price_quote

pytestmark = pytest.mark.django_db
TEHRAN = ZoneInfo("Asia/Tehran")
Kind = SmartDiscount.Kind


@pytest.fixture(autouse=True)
def _no_default_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0
    settings.MIN_PRICE_PERCENT = 0
    settings.ENABLE_SMART_DISCOUNTS = True


@pytest.fixture
def plan():
    return PlanFactory(price_amount=100_000)


@pytest.fixture
def customer():
    return CustomerFactory(language="en")


def quote_at(customer, plan, moment, quantity=1, code=""):
    with time_machine.travel(moment, tick=False):
        return price_quote(customer, plan, quantity, code=code)


def local(*args):
    return datetime(*args, tzinfo=TEHRAN)


@pytest.mark.parametrize("moment, applies", [
    (local(2026, 3, 2, 19, 59, 59), False),
    (local(2026, 3, 2, 20, 0), True),
    (local(2026, 3, 2, 22, 59), True),
    (local(2026, 3, 2, 23, 0), False),
])
def test_happy_hour_edges_in_tehran(customer, plan, moment, applies):
    SmartDiscountFactory(kind=Kind.HOURLY, percent_bp=1500, params={"ranges": [["20:00", "23:00"]]})
    quote = quote_at(customer, plan, moment)
    assert quote.discount_amount == (15_000 if applies else 0)


@pytest.mark.parametrize("moment, applies", [
    (local(2026, 3, 6, 23, 0), True),   # Friday night
    (local(2026, 3, 7, 1, 30), True),   # Saturday 01:30 still belongs to Friday's range
    (local(2026, 3, 7, 2, 0), False),
    (local(2026, 3, 7, 23, 0), False),  # Saturday night is not Friday
    (local(2026, 3, 6, 1, 0), False),   # Friday 01:00 belongs to Thursday
])
def test_happy_hour_crossing_midnight(customer, plan, moment, applies):
    SmartDiscountFactory(kind=Kind.HOURLY, percent_bp=1000, params={"weekdays": [4], "ranges": [["22:00", "02:00"]]})
    assert quote_at(customer, plan, moment).discount_amount == (10_000 if applies else 0)


def test_happy_hour_follows_the_customer_time_zone(plan):
    SmartDiscountFactory(kind=Kind.HOURLY, percent_bp=1000, params={"ranges": [["20:00", "23:00"]]})
    moment = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 20:30 in Tehran, 17:00 in UTC
    tehran = CustomerFactory()
    utc = CustomerFactory(time_zone="UTC")
    assert quote_at(tehran, plan, moment).discount_amount == 10_000
    assert quote_at(utc, plan, moment).discount_amount == 0


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


def jalali(y, m, d, hour=12):
    g = jdatetime.date(y, m, d).togregorian()
    return datetime(g.year, g.month, g.day, hour, tzinfo=TEHRAN)


@pytest.mark.parametrize("moment, applies", [
    (jalali(1404, 12, 24), False),
    (jalali(1404, 12, 25), True),
    (jalali(1404, 12, 29, 23), True),  # the last day of Esfand
    (jalali(1405, 1, 1, 0), True),     # Nowruz
    (jalali(1405, 1, 13, 23), True),
    (jalali(1405, 1, 14, 0), False),
])
def test_seasonal_nowruz_across_the_jalali_year_change(customer, plan, moment, applies):
    SmartDiscountFactory(kind=Kind.SEASONAL, percent_bp=2000, params={"from": "12-25", "to": "01-13"})
    assert quote_at(customer, plan, moment).discount_amount == (20_000 if applies else 0)


def test_seasonal_gregorian_by_choice(customer, plan):
    SmartDiscountFactory(kind=Kind.SEASONAL, percent_bp=1000, params={"calendar": "gregorian", "from": "12-20", "to": "01-05"})
    assert quote_at(customer, plan, local(2026, 12, 31, 12)).discount_amount == 10_000
    assert quote_at(customer, plan, local(2027, 1, 6, 12)).discount_amount == 0


def test_birthday_in_the_birth_month_once_per_year(plan):
    from vpnbot.shop.services import order_checkout

    customer = CustomerFactory.with_balance(1_000_000, birth_month=1)
    SmartDiscountFactory(kind=Kind.BIRTHDAY, percent_bp=3000, per_customer_limit=1)
    assert quote_at(customer, plan, jalali(1404, 12, 29)).discount_amount == 0
    assert quote_at(customer, plan, jalali(1405, 1, 10)).discount_amount == 30_000
    with time_machine.travel(jalali(1405, 1, 10), tick=False):
        order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="bd-1")
    assert quote_at(customer, plan, jalali(1405, 1, 20)).discount_amount == 0
    assert quote_at(customer, plan, jalali(1406, 1, 5)).discount_amount == 30_000


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
    from tests.discounts.factories import CashbackRuleFactory

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


def test_process_cache_sees_changes_made_elsewhere(customer, plan):
    """Changes that fire no signal here (another process, bulk writes) still reach the quote."""
    d = SmartDiscountFactory(percent_bp=1000)
    assert price_quote(customer, plan, 1).discount_amount == 10_000
    SmartDiscount.objects.bulk_create([SmartDiscount(kind=Kind.CONDITIONAL, percent_bp=3000, starts_at=d.starts_at,
                                                     per_customer_limit=None)])
    assert price_quote(customer, plan, 1).discount_amount == 30_000
    SmartDiscount.objects.filter(percent_bp=3000).update(percent_bp=2000, updated_at=timezone.now())
    assert price_quote(customer, plan, 1).discount_amount == 20_000
    SmartDiscount.objects.filter(percent_bp=2000)._raw_delete(SmartDiscount.objects.db)
    assert price_quote(customer, plan, 1).discount_amount == 10_000


def test_cached_candidates_equal_the_reference_query(customer, plan):
    from discounts import services

    other = CustomerFactory()
    start = datetime(2020, 1, 1, tzinfo=UTC)
    SmartDiscountFactory(percent_bp=100)
    SmartDiscountFactory(percent_bp=100, status="paused")
    SmartDiscountFactory(percent_bp=100, status="archived")
    SmartDiscountFactory(percent_bp=100, ends_at=datetime(2021, 1, 1, tzinfo=UTC))
    SmartDiscountFactory(percent_bp=100, starts_at=datetime(2030, 1, 1, tzinfo=UTC))
    SmartDiscountFactory(percent_bp=100, max_uses=5, used_count=4)
    SmartDiscountFactory(percent_bp=100, max_uses=5, used_count=5)
    SmartDiscountFactory(percent_bp=100, customer=customer)
    SmartDiscountFactory(percent_bp=100, customer=other)
    SmartDiscountFactory(kind=Kind.CODE, code="PUBLIC", percent_bp=100, starts_at=start)
    SmartDiscountFactory(kind=Kind.CODE, code="MINE", percent_bp=100, customer=customer)
    SmartDiscountFactory(kind=Kind.CODE, code="THEIRS", percent_bp=100, customer=other)
    at = datetime(2026, 6, 1, tzinfo=UTC)
    for who in (customer, other, None):
        for code in ("", "public", "MINE", "theirs", "nothing"):
            cached = {d.pk for d in services.candidates(customer=who, at=at, code=code)}
            reference = {d.pk for d in services.candidates_query(customer=who, at=at, code=code)}
            assert cached == reference, (who, code)
