"""A reseller's monthly statement: the month in the shop's time zone (Tehran), its opening and
closing balances and every wallet movement between them."""

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine

from resellers import services
from tests.factories import PlanFactory
from tests.resellers.core_support import balance, buy, fund, make_reseller

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


def test_the_month_runs_by_tehran_time_with_opening_and_closing_balances():
    plan = PlanFactory(price_amount=100_000)
    reseller = make_reseller(discount_bp=2000, credit=100_000)
    with at(2026, 2, 28, 20, 0):  # 23:30 on 28 February in Tehran: before March
        fund(reseller.customer, 50_000)
    with at(2026, 2, 28, 21, 0):  # 00:30 on 1 March in Tehran (still February in UTC)
        fund(reseller.customer, 30_000)
    with at(2026, 3, 15, 9, 0):
        buy(reseller, plan, 2)  # 160,000 on credit: 80,000 - 160,000 = -80,000
    with at(2026, 3, 31, 20, 0):  # 23:30 on 31 March in Tehran
        fund(reseller.customer, 20_000)
    with at(2026, 3, 31, 21, 0):  # 00:30 on 1 April in Tehran: not in March
        fund(reseller.customer, 5_000)
    name, content = services.reseller_statement_csv(reseller=reseller, year=2026, month=3)
    assert name == f"reseller-{reseller.pk}-2026-03.csv"
    table = list(csv.reader(io.StringIO(content.decode("utf-8").lstrip("\ufeff"))))
    assert table[0] == ["date", "reason", "source", "amount", "balance_after", "note"]
    assert table[1] == ["2026-03-01", "opening_balance", "", "", "50000", ""]
    movements = table[2:6]
    assert [(r[1], r[3], r[4]) for r in movements] == [
        ("topup", "30000", "80000"), ("purchase", "-80000", "0"), ("purchase", "-80000", "-80000"),
        ("topup", "20000", "-60000")]
    assert movements[0][0].startswith("2026-03-01T00:30:00+03:30")
    assert movements[3][0].startswith("2026-03-31T23:30:00+03:30")
    assert table[6] == ["2026-03-31", "closing_balance", "", "", "-60000", ""]
    figures = {r[1]: r[3] for r in table[8:]}
    assert figures["accounts_bought"] == "2" and figures["spent_amount"] == "160000"
    assert balance(reseller.customer) == -55_000
    # February: its closing is March's opening
    _name, february = services.reseller_statement_csv(reseller=reseller, year=2026, month=2)
    feb = list(csv.reader(io.StringIO(february.decode("utf-8").lstrip("\ufeff"))))
    assert feb[1][1:5] == ["opening_balance", "", "", "0"]
    assert next(r for r in feb if r and r[1] == "closing_balance")[4] == "50000"


def test_month_bounds_are_tehran_midnights():
    start, end = services.month_bounds(2026, 12)
    assert start == datetime(2026, 11, 30, 20, 30, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 20, 30, tzinfo=UTC)
