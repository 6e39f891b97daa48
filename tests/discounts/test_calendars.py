"""Time as the customer lives it (services/calendars.py): happy hours in their zone, Jalali and
Gregorian seasons, birth months."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from discounts.models import SmartDiscount
from tests.discounts.factories import CustomerFactory, SmartDiscountFactory
from tests.discounts.helpers import jalali, local, quote_at
from vpnbot.shop.services import order_checkout, price_quote

pytestmark = pytest.mark.django_db
Kind = SmartDiscount.Kind


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
    customer = CustomerFactory.with_balance(1_000_000, birth_month=1)
    SmartDiscountFactory(kind=Kind.BIRTHDAY, percent_bp=3000, per_customer_limit=1)
    assert quote_at(customer, plan, jalali(1404, 12, 29)).discount_amount == 0
    assert quote_at(customer, plan, jalali(1405, 1, 10)).discount_amount == 30_000
    with time_machine.travel(jalali(1405, 1, 10), tick=False):
        order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="bd-1")
    assert quote_at(customer, plan, jalali(1405, 1, 20)).discount_amount == 0
    assert quote_at(customer, plan, jalali(1406, 1, 5)).discount_amount == 30_000


def test_gregorian_birth_months_by_setting(plan, settings):
    settings.CALENDAR = "gregorian"
    customer = CustomerFactory(birth_month=3)
    SmartDiscountFactory(kind="birthday", percent_bp=1000)
    with time_machine.travel(datetime(2026, 3, 31, 23, 0, tzinfo=ZoneInfo("Asia/Tehran")), tick=False):
        assert price_quote(customer, plan, 1).discount_amount == 10_000
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=ZoneInfo("Asia/Tehran")), tick=False):
        assert price_quote(customer, plan, 1).discount_amount == 0

