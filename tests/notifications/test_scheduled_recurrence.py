"""When a scheduled message is due: once, daily, weekly on days, monthly on a day of the
Gregorian or the Jalali month (month ends, the Jalali new year), a raw RRULE, until a day or N
times; and the dates people type (Jalali or Gregorian, Persian digits) and read."""

from datetime import date, datetime

import pytest
from django.utils import translation

from notifications.services import NotificationError
from notifications.services.scheduled_recurrence import Recurrence, parse_weekdays
from vpnbot.core import dates


def walls(rule: Recurrence, n: int = 20) -> list[str]:
    out = []
    for wall in rule.walls():
        out.append(wall.strftime("%Y-%m-%d %H:%M"))
        if len(out) == n:
            break
    return out


def jalali(rule: Recurrence, n: int = 20) -> list[str]:
    return [dates.wall_text(w, dates.JALALI) for w in list(rule.walls())[:n]]


def test_once_daily_and_weekly_on_days():
    start = datetime(2026, 3, 18, 10, 0)  # a Wednesday
    assert walls(Recurrence(start=start)) == ["2026-03-18 10:00"]
    assert walls(Recurrence(start=start, repeat="daily", count=3)) == [
        "2026-03-18 10:00", "2026-03-19 10:00", "2026-03-20 10:00"]
    assert walls(Recurrence(start=start, repeat="daily", interval=2, until=date(2026, 3, 23))) == [
        "2026-03-18 10:00", "2026-03-20 10:00", "2026-03-22 10:00"]
    # Mondays and Thursdays from a Wednesday: the first is the Thursday after
    assert walls(Recurrence(start=start, repeat="weekly", weekdays=(0, 3), count=4)) == [
        "2026-03-19 10:00", "2026-03-23 10:00", "2026-03-26 10:00", "2026-03-30 10:00"]
    # no days given: the start's own weekday
    assert walls(Recurrence(start=start, repeat="weekly", count=2)) == ["2026-03-18 10:00", "2026-03-25 10:00"]


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months():
    rule = Recurrence(start=datetime(2026, 1, 31, 9, 30), repeat="monthly", month_day=31, count=6)
    assert walls(rule) == ["2026-01-31 09:30", "2026-02-28 09:30", "2026-03-31 09:30", "2026-04-30 09:30",
                           "2026-05-31 09:30", "2026-06-30 09:30"]
    leap = Recurrence(start=datetime(2028, 1, 30, 9, 30), repeat="monthly", month_day=30, count=3)
    assert walls(leap) == ["2028-01-30 09:30", "2028-02-29 09:30", "2028-03-30 09:30"]
    # a raw RRULE keeps RFC 5545's meaning: months without a 31st are skipped
    raw = Recurrence(start=datetime(2026, 1, 31, 9, 30), repeat="rrule", rrule="FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3")
    assert walls(raw) == ["2026-01-31 09:30", "2026-03-31 09:30", "2026-05-31 09:30"]


def test_monthly_in_the_jalali_calendar_across_the_new_year():
    # 1404/12/01 = 2026-02-20; Esfand 1404 has 29 days; Farvardin 1405 starts on 2026-03-21
    start = datetime.combine(dates.from_jalali(1404, 11, 30), datetime.min.time()).replace(hour=10)
    rule = Recurrence(start=start, repeat="monthly", month_day=30, calendar="jalali", count=4)
    assert jalali(rule) == ["1404/11/30 10:00", "1404/12/29 10:00", "1405/01/30 10:00", "1405/02/30 10:00"]
    first_of_month = Recurrence(start=datetime(2026, 2, 20, 10), repeat="monthly", month_day=1, calendar="jalali",
                                until=dates.parse_day("1405/03/01"))
    assert jalali(first_of_month) == ["1404/12/01 10:00", "1405/01/01 10:00", "1405/02/01 10:00", "1405/03/01 10:00"]
    assert walls(first_of_month)[1] == "2026-03-21 10:00"  # Nowruz 1405
    # a daily message through the new year, until a Jalali day
    daily = Recurrence(start=datetime(2026, 3, 19, 8), repeat="daily", until=dates.parse_day("۱۴۰۵/۰۱/۰۲"))
    assert jalali(daily) == ["1404/12/28 08:00", "1404/12/29 08:00", "1405/01/01 08:00", "1405/01/02 08:00"]


def test_a_raw_rrule_and_what_is_refused():
    start = datetime(2026, 3, 18, 10, 0)
    rule = Recurrence(start=start, repeat="rrule", rrule="RRULE:FREQ=WEEKLY;BYDAY=SA;INTERVAL=2;COUNT=3")
    assert walls(rule) == ["2026-03-21 10:00", "2026-04-04 10:00", "2026-04-18 10:00"]
    with_count = Recurrence(start=start, repeat="rrule", rrule="FREQ=DAILY", count=2)
    assert walls(with_count) == ["2026-03-18 10:00", "2026-03-19 10:00"]
    for bad in ("FREQ=MINUTELY", "FREQ=HOURLY;BYMINUTE=0,30", "DTSTART:20260101T000000\nRRULE:FREQ=DAILY",
                "FREQ=DAILY;UNTIL=20260401T000000Z", "FREQ=SOMETIMES", ""):
        with pytest.raises(NotificationError):
            Recurrence(start=start, repeat="rrule", rrule=bad).check()
    with pytest.raises(NotificationError):  # February has no 30th: nothing, ever
        Recurrence(start=start, repeat="rrule", rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30").check()
    Recurrence(start=start, repeat="rrule", rrule="FREQ=HOURLY;INTERVAL=6").check()


def test_a_schedule_is_followed_ten_years_at_most():
    rule = Recurrence(start=datetime(2026, 1, 1, 10), repeat="monthly", calendar="gregorian")
    every = list(rule.walls())
    assert len(every) == 120 and every[-1] == datetime(2035, 12, 1, 10)


@translation.override("en")
def test_the_rule_in_words():
    rule = Recurrence(start=datetime(2026, 3, 18, 10), repeat="weekly", weekdays=(0, 5), until=date(2026, 6, 21))
    assert rule.describe(dates.GREGORIAN) == "Every week on Monday, Saturday, until 2026-06-21"
    assert rule.describe(dates.JALALI) == "Every week on Saturday, Monday, until 1405/03/31"
    monthly = Recurrence(start=datetime(2026, 1, 31, 10), repeat="monthly", month_day=31, count=3, interval=2)
    assert monthly.describe(dates.GREGORIAN) == ("Every 2 Gregorian months on day 31 (the last day of a shorter month), "
                                                 "3 times")


@pytest.mark.parametrize(("value", "days"), [
    ("MO, TH", [0, 3]), (["fr", "Monday"], [0, 4]), ("شنبه، سه شنبه", [1, 5]), ([6, 0], [0, 6]), ("یکشنبه", [6]),
])
def test_weekdays_as_people_write_them(value, days):
    assert parse_weekdays(value) == days


def test_dates_in_both_calendars_and_digits():
    assert dates.parse_day("1405-01-01") == date(2026, 3, 21)
    assert dates.parse_day("۱۴۰۴/۱۲/۲۹") == date(2026, 3, 20)
    assert dates.parse_datetime("1405/01/01 10:00", "Asia/Tehran").isoformat() == "2026-03-21T06:30:00+00:00"
    assert dates.parse_datetime("2026-03-21T10:00:00+01:00", "Asia/Tehran").isoformat() == "2026-03-21T09:00:00+00:00"
    for bad in ("1404/12/30 10:00", "2026-02-30 10:00", "2026-03-21", "2026-03-21 25:00", "tomorrow"):
        with pytest.raises(dates.DateError):
            dates.parse_datetime(bad, "Asia/Tehran")
    # a clock time that Berlin's spring change skips is the same instant as the hour after
    assert dates.localise(datetime(2026, 3, 29, 2, 30), "Europe/Berlin") == \
        dates.localise(datetime(2026, 3, 29, 3, 30), "Europe/Berlin")
