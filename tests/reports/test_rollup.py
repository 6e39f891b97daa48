"""The kept (rolled-up) days: a report reads the same figures from them as from the rows, today is
always read live, a kept day that stops matching the ledger fails the reconciliation until it is
rolled up again, and the command and the nightly job keep them. (test_figures.py also runs every
hand-computed figure of the story with every closed day kept.)"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import tasks
from reports.models import DailyBuyers, ReportsLock, RollupDay
from reports.services import day_range, reconcile, report_financial, report_sales, series
from reports.services.periods import local_today
from reports.services.rollup import kept_until, rollup_day, rollup_missing
from tests.factories import CustomerFactory, PlanFactory
from tests.reports.conftest import buy, top_up
from tests.reports.shop_data import a_day_of_trade
from vpnbot.shop.models import WalletTransaction

TEHRAN = ZoneInfo("Asia/Tehran")
DAY1 = datetime(2026, 3, 1).date()


def at(day_offset: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(DAY1 + timedelta(days=day_offset), time(hour, minute), tzinfo=TEHRAN)


@pytest.fixture
def trades(db, settings):
    """Four days of trade (day 0, 1, 3, and 23:50 / 00:10 around the midnight of day 4) and a
    customer of day 0 buying again on day 3; read on day 6 at noon."""
    settings.TIME_ZONE = "Asia/Tehran"
    plan = PlanFactory(price_amount=70_000)
    with time_machine.travel(at(0), tick=False):
        first = a_day_of_trade("d0")
    with time_machine.travel(at(1), tick=False):
        a_day_of_trade("d1")
    with time_machine.travel(at(3), tick=False):
        a_day_of_trade("d3")
        buy(first.buyer, plan)  # returning: bought on day 0
    late = CustomerFactory(language="en")
    with time_machine.travel(at(3, 23, 50), tick=False):
        top_up(late, 200_000)
        buy(late, plan)
    with time_machine.travel(at(4, 0, 10), tick=False):
        buy(late, plan)  # returning across the midnight
    with time_machine.travel(at(6), tick=False):
        yield first


def periods():
    return [day_range(DAY1 + timedelta(days=a), DAY1 + timedelta(days=b))
            for a, b in [(0, 0), (0, 6), (1, 4), (3, 3), (4, 4), (2, 5), (3, 6), (6, 6), (-3, 8)]]


def everything() -> list:
    reports = [report_financial(p) for p in periods()]
    for report in reports:
        report["reconciliation"].pop("seconds")
    return [(report, series(p), report_sales(p)) for report, p in zip(reports, periods(), strict=True)]


def test_kept_days_give_the_figures_of_the_rows(trades):
    live = everything()
    assert live[1][0]["buyers"] == 7 and live[1][0]["new_buyers"] == 7  # 3 days x 2 + the late one
    assert live[2][0]["returning_buyers"] == 1 and live[3][0]["buyers"] == 4  # day 3: two new, day 0's, the late one
    assert live[4][0]["orders"] == 1 and live[4][0]["returning_buyers"] == 1  # day 4: the late one at 00:10, back from 23:50
    assert live[2][0]["buyers"] == 6  # days 1..4: d1's two, d3's two, day 0's buyer, the late one (twice)
    assert live[1][0]["returning_buyers"] == 0  # day 0's buyer bought again inside the same period
    assert {item["key"]: item["orders"] for item in live[1][2]["by_method"]} == {"wallet": 12}
    done = rollup_missing()
    assert done["days"] == 6 and RollupDay.objects.count() == 6  # day 0 (the first customer) .. day 5
    assert DailyBuyers.objects.filter(rollup__day=DAY1 + timedelta(days=3), previous_day=DAY1).get().buyers == 1
    assert everything() == live
    assert kept_until(periods()[1]) == DAY1 + timedelta(days=6)  # today is read live


def test_a_gap_in_the_kept_days_is_read_live_from_there(trades):
    live = everything()
    rollup_day(DAY1)
    rollup_day(DAY1 + timedelta(days=3))  # day 1 and 2 are not kept: from day 1 on is read live
    assert kept_until(periods()[1]) == DAY1 + timedelta(days=1)
    assert everything() == live


def test_today_is_never_kept_and_a_sale_today_counts_at_once(trades):
    rollup_missing()
    with pytest.raises(ValueError):
        rollup_day(local_today())
    week = periods()[1]
    before = report_financial(week, with_reconciliation=False)
    plan = PlanFactory(price_amount=30_000)
    buy(trades.topper, plan)  # bought on day 0 already: one buyer still
    buy(CustomerFactory.with_balance(30_000, language="en"), plan)  # a new buyer
    after = report_financial(week, with_reconciliation=False)
    assert (after["orders"], after["net_amount"]) == (before["orders"] + 2, before["net_amount"] + 60_000)
    assert (after["buyers"], after["new_buyers"]) == (before["buyers"] + 1, before["new_buyers"] + 1)
    assert after["new_customers"] == before["new_customers"] + 1


def test_a_report_of_kept_days_asks_the_same_few_queries_however_much_was_sold(trades):
    rollup_missing()
    past = day_range(DAY1, DAY1 + timedelta(days=5))  # every day kept

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            report_financial(past, with_reconciliation=False)
            series(past)
        return len(captured)

    few = queries()
    with time_machine.travel(at(2), tick=False):
        for tag in "xyz":
            a_day_of_trade(tag)
    rollup_missing(rebuild=True)
    assert queries() == few <= 10, few


def test_a_kept_day_that_differs_from_the_ledger_fails_the_reconciliation_until_rolled_up_again(trades):
    rollup_missing()
    assert reconcile().ok
    adjusted = report_financial(periods()[1])["adjustment_amount"]
    customer = trades.buyer
    customer.refresh_from_db()
    late = WalletTransaction.objects.create(customer=customer, amount=5_000, balance_after=customer.balance_amount + 5_000,
                                            reason=WalletTransaction.Reason.ADJUSTMENT, source="adjust:late",
                                            created_at=at(1, 9))
    customer.balance_amount += 5_000
    customer.save(update_fields=["balance_amount"])
    result = reconcile()
    assert [p.check for p in result.problems] == ["rollup"]
    [row] = result.problems[0].rows
    assert row["day"] == (DAY1 + timedelta(days=1)).isoformat()
    assert row["ledger_rows"] == row["kept_rows"] + 1 and row["ledger_total_amount"] == row["kept_total_amount"] + 5_000
    assert report_financial(periods()[1])["adjustment_amount"] == adjusted  # the kept day does not know the row yet
    call_command("reports_rollup", "--rebuild", "--from", DAY1.isoformat(), stdout=open("/dev/null", "w"))
    assert reconcile().ok
    assert report_financial(periods()[1])["adjustment_amount"] == adjusted + late.amount


def test_days_kept_in_another_time_zone_are_not_used(trades, settings):
    rollup_missing()
    settings.TIME_ZONE = "Europe/Berlin"
    assert kept_until(periods()[1]) == periods()[1].first_day
    berlin = everything()
    RollupDay.objects.all().delete()
    assert everything() == berlin


def run(*args) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("reports_rollup", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def test_the_command_keeps_the_days_and_refuses_bad_input(trades):
    assert run("--from", "2026-02-30") == (2, "There is no such date: 2026-02-30.")
    assert run("--from", "yesterday")[0] == 2
    assert run("--from", "2026-03-05", "--to", "2026-03-02") == (2, "The end date is before the start date.")
    assert RollupDay.objects.count() == 0
    code, out = run()
    assert code == 0 and out.endswith("Rolled up 6 days (2026-03-01 to 2026-03-06) in " + out.split(" in ")[-1])
    assert "6 of 6 days (2026-03-06)" in out
    assert "Rolled up 2 days (2026-03-05 to 2026-03-06)" in run()[1]  # the last two closed days again
    assert run("--to", "2026-03-03") == (0, "Nothing to roll up: every closed day is kept.\n")
    ReportsLock.objects.create(name="rollup", holder="another", acquired_at=at(6), expires_at=at(7))
    assert run()[0] == 2


def test_the_nightly_job_keeps_the_days_unless_the_reports_are_off(trades, settings):
    settings.ENABLE_REPORTS = False
    tasks.rollup_days()
    assert not RollupDay.objects.exists()
    settings.ENABLE_REPORTS = True
    tasks.rollup_days()
    assert sorted(RollupDay.objects.values_list("day", flat=True)) == [DAY1 + timedelta(days=i) for i in range(6)]


def test_kept_cohort_months_read_like_the_rows_and_a_later_refund_still_counts(trades):
    from reports.models import CohortMonth
    from reports.services import report_cohorts
    from reports.services.cohorts import cohort_months_missing
    from vpnbot.shop import services as shop

    with time_machine.travel(at(45), tick=False):  # 2026-04-15: March (and Esfand 1404) closed
        rollup_missing()
        live = [report_cohorts(3, calendar=c) for c in ("gregorian", "jalali")]
        assert cohort_months_missing() == 2  # March, and Esfand 1404 (Farvardin 1405 ends on April 20)
        assert CohortMonth.objects.filter(calendar="gregorian", month=DAY1).exists()
        assert [report_cohorts(3, calendar=c) for c in ("gregorian", "jalali")] == live
        march = live[0]["cohorts"][1]
        assert march["cohort"] == "2026-03" and march["buyers"][0] == 6  # days 0, 1, 3: a buyer and a topper each
        shop.order_refund(order_id=trades.sold.pk, mode="full", reason="late", by="@boss", confirm=True)
        after = report_cohorts(3, calendar="gregorian")["cohorts"][1]
        assert after["revenue_amount"][0] == march["revenue_amount"][0] - trades.sold.paid_amount
        assert after["buyers"][0] == march["buyers"][0]  # a refunded order was still bought
        CohortMonth.objects.all().delete()
        assert report_cohorts(3, calendar="gregorian")["cohorts"][1] == after


def test_the_kept_days_show_read_only_in_the_admin(trades, client):
    from tests.roles import user_in

    rollup_missing()
    client.force_login(user_in("Owner"))
    page = client.get("/admin/reports/rollupday/")
    assert page.status_code == 200 and "March 4, 2026" in page.content.decode()
    assert client.get("/admin/reports/rollupday/add/").status_code == 403
    day = RollupDay.objects.get(day=DAY1)
    assert client.post(f"/admin/reports/rollupday/{day.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RollupDay.objects.filter(pk=day.pk).exists()
    client.force_login(user_in("Support", name="support-2"))
    assert client.get("/admin/reports/rollupday/").status_code == 403  # Support does not see the money


def test_a_day_kept_by_an_older_version_is_read_live_and_kept_again(trades):
    live = everything()
    rollup_missing()
    RollupDay.objects.filter(day=DAY1 + timedelta(days=1)).update(version=1)  # before the sales were kept
    assert kept_until(periods()[1]) == DAY1 + timedelta(days=1)
    assert everything() == live
    assert rollup_missing()["days"] == 3  # that day, and the last two closed ones as always
    assert set(RollupDay.objects.values_list("version", flat=True)) == {2}
    assert everything() == live


def test_a_cohort_table_of_an_earlier_month_ignores_the_days_kept_after_it(trades):
    from reports.services import report_cohorts

    with time_machine.travel(at(35), tick=False):
        CustomerFactory(language="en")  # joined on April 5, a day kept after March
    with time_machine.travel(at(45), tick=False):  # April 15: the March days are kept, and April's first ones
        rollup_missing()
        earlier = datetime(2026, 3, 20, 12, tzinfo=TEHRAN)
        kept = report_cohorts(1, calendar="gregorian", now=earlier)  # March only: every day of it kept
        RollupDay.objects.all().delete()
        assert report_cohorts(1, calendar="gregorian", now=earlier) == kept
        assert kept["cohorts"][0]["cohort"] == "2026-03" and kept["cohorts"][0]["customers"] >= 6
