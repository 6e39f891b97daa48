"""Periods as the owner names them, read at Tehran's midnights (UTC+3:30, no daylight saving)
in the Jalali calendar for a Persian reader and the Gregorian one otherwise."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import translation

from reports.services.periods import (
    GREGORIAN,
    JALALI,
    MAX_DAYS,
    PeriodError,
    buckets,
    calendar_for,
    day_range,
    last_months,
    midnight,
    period_parse,
)

# Thursday 1405/09/05 = 2026-11-26, 12:00 in Tehran
THURSDAY_NOON = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _tehran(settings):
    settings.TIME_ZONE = "Asia/Tehran"
    with translation.override("en"):
        yield


def days(period):
    return period.first_day, period.last_day


def test_a_local_midnight_is_half_past_eight_the_evening_before_in_utc_all_year():
    # Tehran has kept UTC+3:30 all year since 2022: no daylight saving in summer
    assert midnight(date(2026, 11, 22)) == datetime(2026, 11, 21, 20, 30, tzinfo=UTC)
    assert midnight(date(2026, 6, 22)) == datetime(2026, 6, 21, 20, 30, tzinfo=UTC)


@pytest.mark.parametrize(("utc", "local_day"), [
    (datetime(2026, 11, 21, 20, 29, tzinfo=UTC), date(2026, 11, 21)),  # 23:59 on 1405/08/30 in Tehran
    (datetime(2026, 11, 21, 20, 31, tzinfo=UTC), date(2026, 11, 22)),  # 00:01 on 1405/09/01 in Tehran
])
def test_today_is_the_day_in_tehran_not_in_utc(utc, local_day):
    with time_machine.travel(utc, tick=False):
        today = period_parse("today")
        empty = period_parse("")
    assert days(today) == days(empty) == (local_day, local_day)
    assert today.start == midnight(local_day) and today.end == midnight(local_day + timedelta(days=1))
    assert today.days == 1


def test_the_minute_after_tehran_midnight_opens_a_new_jalali_month():
    with time_machine.travel(datetime(2026, 11, 21, 20, 29, tzinfo=UTC), tick=False):
        before = period_parse("month", calendar=JALALI)
    with time_machine.travel(datetime(2026, 11, 21, 20, 31, tzinfo=UTC), tick=False):
        after = period_parse("month", calendar=JALALI)
        gregorian = period_parse("month", calendar=GREGORIAN)
    assert days(before) == (date(2026, 10, 23), date(2026, 11, 21))  # Aban 1405 from its 1st to its 30th
    assert days(after) == (date(2026, 11, 22), date(2026, 11, 22))  # Azar 1405, its first day
    assert days(gregorian) == (date(2026, 11, 1), date(2026, 11, 22))


@pytest.mark.parametrize(("text", "calendar", "first", "last"), [
    ("yesterday", JALALI, date(2026, 11, 25), date(2026, 11, 25)),
    ("week", JALALI, date(2026, 11, 21), date(2026, 11, 26)),  # a Jalali week starts on Saturday
    ("week", GREGORIAN, date(2026, 11, 23), date(2026, 11, 26)),  # a Gregorian one on Monday
    ("month", JALALI, date(2026, 11, 22), date(2026, 11, 26)),  # 1405/09/01 ..
    ("month", GREGORIAN, date(2026, 11, 1), date(2026, 11, 26)),
    ("7d", GREGORIAN, date(2026, 11, 20), date(2026, 11, 26)),  # today and the 6 days before
    ("1d", GREGORIAN, date(2026, 11, 26), date(2026, 11, 26)),
    ("30D", JALALI, date(2026, 10, 28), date(2026, 11, 26)),
    ("  Today ", GREGORIAN, date(2026, 11, 26), date(2026, 11, 26)),
])
def test_words_relative_to_today(text, calendar, first, last):
    with time_machine.travel(THURSDAY_NOON, tick=False):
        period = period_parse(text, calendar=calendar)
    assert days(period) == (first, last)
    assert period.calendar == calendar


def test_a_saturday_starts_a_jalali_week_and_a_monday_a_gregorian_one():
    saturday = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
    monday = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    with time_machine.travel(saturday, tick=False):
        assert days(period_parse("week", calendar=JALALI)) == (date(2026, 11, 21), date(2026, 11, 21))
        assert days(period_parse("week", calendar=GREGORIAN)) == (date(2026, 11, 16), date(2026, 11, 21))
    with time_machine.travel(monday, tick=False):
        assert days(period_parse("week", calendar=GREGORIAN)) == (date(2026, 11, 23), date(2026, 11, 23))


@pytest.mark.parametrize(("text", "first", "last", "calendar", "label"), [
    # a year below 1700 is Jalali: Farvardin 1405 is 31 days from the Nowruz of 2026
    ("1405-01", date(2026, 3, 21), date(2026, 4, 20), JALALI, "1405/01/01 – 1405/01/31"),
    ("1405/09", date(2026, 11, 22), date(2026, 12, 21), JALALI, "1405/09/01 – 1405/09/30"),
    ("1405-12", date(2027, 2, 20), date(2027, 3, 20), JALALI, "1405/12/01 – 1405/12/29"),  # 1405 is not leap
    ("1403-12", date(2025, 2, 19), date(2025, 3, 20), JALALI, "1403/12/01 – 1403/12/30"),  # 1403 is
    ("۱۴۰۵-۰۹", date(2026, 11, 22), date(2026, 12, 21), JALALI, "1405/09/01 – 1405/09/30"),  # Persian digits
    ("2026-02", date(2026, 2, 1), date(2026, 2, 28), GREGORIAN, "2026-02-01 – 2026-02-28"),
    ("2028-2", date(2028, 2, 1), date(2028, 2, 29), GREGORIAN, "2028-02-01 – 2028-02-29"),
])
def test_a_month_by_its_number(text, first, last, calendar, label):
    period = period_parse(text, calendar=GREGORIAN)  # the year says which calendar, whatever the reader's
    assert days(period) == (first, last)
    assert period.calendar == calendar
    assert period.label == label
    assert period.start == midnight(first) and period.end == midnight(last + timedelta(days=1))


@pytest.mark.parametrize(("text", "first", "last"), [
    ("2026-11-21 2026-11-22", date(2026, 11, 21), date(2026, 11, 22)),
    ("1405/08/30 1405/09/01", date(2026, 11, 21), date(2026, 11, 22)),  # Jalali dates
    ("1405-08-30, 2026-11-22", date(2026, 11, 21), date(2026, 11, 22)),  # one of each, a comma
    ("۱۴۰۵/۰۸/۳۰ ۱۴۰۵/۰۹/۰۱", date(2026, 11, 21), date(2026, 11, 22)),  # Persian digits
    ("2026-11-22 2026-11-22", date(2026, 11, 22), date(2026, 11, 22)),
    ("1405-09-08", date(2026, 11, 29), date(2026, 11, 29)),  # one date: that day
])
def test_dates_from_to_both_included(text, first, last):
    period = period_parse(text, calendar=JALALI)
    assert days(period) == (first, last)
    assert period.start == midnight(first)
    assert period.end == midnight(last + timedelta(days=1))
    assert period.calendar == JALALI


@pytest.mark.parametrize(("text", "message"), [
    ("1405-13", "The month must be 1 to 12."),
    ("2026-00", "The month must be 1 to 12."),
    ("1405-12-30", "There is no such date: 1405-12-30."),  # Esfand 1405 has 29 days
    ("1405-12-31 1406-01-05", "There is no such date: 1405-12-31."),
    ("2026-02-29", "There is no such date: 2026-02-29."),
    ("2026-12-01 2026-11-01", "The end date is before the start date."),
    ("1405-09-10 1405-09-01", "The end date is before the start date."),
    (f"{MAX_DAYS + 1}d", f"A report covers 1 to {MAX_DAYS} days."),
    ("0d", f"A report covers 1 to {MAX_DAYS} days."),
    ("2000-01-01 2026-01-01", f"A report covers 1 to {MAX_DAYS} days."),
    ("garbage", "Give one period: today, yesterday, week, month, 7d, YYYY-MM, or two dates FROM TO."),
    ("next week", "Write a date as YYYY-MM-DD (a year below 1700 is Jalali): next."),  # two words: two dates
    ("2026-11-01 to 2026-11-30", "Give one period: today, yesterday, week, month, 7d, YYYY-MM, or two dates FROM TO."),
    ("2026-11-01 garbage", "Write a date as YYYY-MM-DD (a year below 1700 is Jalali): garbage."),
])
def test_a_period_that_cannot_be_read_says_what_is_wrong(text, message):
    with time_machine.travel(THURSDAY_NOON, tick=False), pytest.raises(PeriodError) as raised:
        period_parse(text)
    assert str(raised.value) == message


def test_a_leap_esfand_has_its_30th():
    assert days(period_parse("1403-12-30")) == (date(2025, 3, 20), date(2025, 3, 20))


def test_the_longest_range_is_allowed():
    first = date(2020, 1, 1)
    period = day_range(first, first + timedelta(days=MAX_DAYS - 1))
    assert period.days == MAX_DAYS


def test_calendar_for_a_reader():
    assert calendar_for("fa") == JALALI
    assert calendar_for("fa-IR") == JALALI
    assert calendar_for("en") == GREGORIAN


def test_previous_of_a_month_is_the_whole_month_before():
    azar = period_parse("1405-09")
    assert days(azar.previous()) == (date(2026, 10, 23), date(2026, 11, 21))  # Aban: 30 days
    assert azar.previous().calendar == JALALI
    farvardin = period_parse("1405-01")
    assert days(farvardin.previous()) == (date(2026, 2, 20), date(2026, 3, 20))  # Esfand 1404: 29 days
    march = period_parse("2026-03")
    assert days(march.previous()) == (date(2026, 2, 1), date(2026, 2, 28))


def test_previous_of_a_month_so_far_is_the_same_days_of_the_month_before():
    with time_machine.travel(THURSDAY_NOON, tick=False):
        month_so_far = period_parse("month", calendar=JALALI)  # 1405/09/01 .. 1405/09/05
    assert days(month_so_far.previous()) == (date(2026, 10, 23), date(2026, 10, 27))  # 1405/08/01 .. 1405/08/05
    march_so_far = period_parse("2026-03-01 2026-03-30")
    assert days(march_so_far.previous()) == (date(2026, 2, 1), date(2026, 2, 28))  # February has only 28


def test_previous_of_other_periods_is_as_many_days_just_before():
    with time_machine.travel(THURSDAY_NOON, tick=False):
        today = period_parse("today")
    assert days(today.previous()) == (date(2026, 11, 25), date(2026, 11, 25))
    assert days(period_parse("2026-11-21 2026-11-22").previous()) == (date(2026, 11, 19), date(2026, 11, 20))


def test_buckets_by_day_are_local_days():
    period = period_parse("1405/08/30 1405/09/02", calendar=JALALI)
    spans = buckets(period)
    assert [b.label for b in spans] == ["1405/08/30", "1405/09/01", "1405/09/02"]
    assert spans[1].start == datetime(2026, 11, 21, 20, 30, tzinfo=UTC)
    assert spans[1].end == datetime(2026, 11, 22, 20, 30, tzinfo=UTC)
    assert spans[0].start == period.start and spans[-1].end == period.end
    gregorian = buckets(period_parse("2026-11-21 2026-11-22", calendar=GREGORIAN))
    assert [b.label for b in gregorian] == ["2026-11-21", "2026-11-22"]


def test_buckets_by_week_start_on_the_calendars_first_weekday():
    azar = period_parse("1405-09")  # Sunday 2026-11-22 .. Monday 2026-12-21
    weeks = buckets(azar, "week")
    # the first bucket runs to the next Saturday; the last one stops with the period
    assert [b.label for b in weeks] == ["1405/09/01", "1405/09/07", "1405/09/14", "1405/09/21", "1405/09/28"]
    assert weeks[1].start == midnight(date(2026, 11, 28))  # a Saturday
    assert weeks[-1].end == azar.end
    november = period_parse("2026-11")  # Sunday the 1st .. Monday the 30th
    gweeks = buckets(november, "week")
    assert [b.label for b in gweeks] == ["2026-11-01", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23",
                                         "2026-11-30"]
    assert all(b.end == n.start for b, n in zip(gweeks, gweeks[1:], strict=False))


def test_buckets_by_month_follow_the_calendar_and_clip_to_the_period():
    period = period_parse("1405/08/15 1405/10/10", calendar=JALALI)
    months = buckets(period, "month")
    assert [b.label for b in months] == ["1405/08", "1405/09", "1405/10"]
    assert months[0].start == period.start  # clipped: from 1405/08/15, not the 1st
    assert months[1].start == midnight(date(2026, 11, 22)) and months[1].end == midnight(date(2026, 12, 22))
    assert months[-1].end == period.end
    gregorian = buckets(period_parse("2026-11-06 2027-01-01", calendar=GREGORIAN), "month")
    assert [b.label for b in gregorian] == ["2026-11", "2026-12", "2027-01"]


def test_the_unit_follows_the_length_unless_given():
    assert len(buckets(period_parse("2026-01-01 2026-03-03"))) == 62  # days up to 62 days
    assert buckets(period_parse("2026-01-01 2026-03-04"))[1].label == "2026-01-05"  # then weeks
    assert [b.label for b in buckets(period_parse("2026-01-01 2027-01-31"))][:2] == ["2026-01", "2026-02"]


def test_last_months_cross_the_jalali_new_year():
    # 1405/01/10 = 2026-03-30: the last four Jalali months reach back into 1404
    with time_machine.travel(datetime(2026, 3, 30, 8, 30, tzinfo=UTC), tick=False):
        months = last_months(4, calendar=JALALI)
        gregorian = last_months(4, calendar=GREGORIAN)
    assert [b.label for b in months] == ["1404/10", "1404/11", "1404/12", "1405/01"]
    assert months[2].start == midnight(date(2026, 2, 20)) and months[2].end == midnight(date(2026, 3, 21))
    assert months[3].start == midnight(date(2026, 3, 21)) and months[3].end == midnight(date(2026, 4, 21))
    assert [b.label for b in gregorian] == ["2025-12", "2026-01", "2026-02", "2026-03"]


def test_last_months_follow_the_tehran_day_at_the_new_year_midnight():
    # 20:29 UTC on 2026-03-20 is still Esfand 1404 in Tehran; 20:31 is Farvardin 1405
    with time_machine.travel(datetime(2026, 3, 20, 20, 29, tzinfo=UTC), tick=False):
        assert last_months(1, calendar=JALALI)[0].label == "1404/12"
    with time_machine.travel(datetime(2026, 3, 20, 20, 31, tzinfo=UTC), tick=False):
        assert last_months(1, calendar=JALALI)[0].label == "1405/01"


@pytest.mark.parametrize("text", ["9999-12-31", "1899-01-01 1899-01-05", "3000-01-01 3000-01-02"])
def test_a_date_out_of_the_years_a_report_reaches_is_refused_clearly(text):
    with pytest.raises(PeriodError, match="between the years 1900 and 2999"):
        period_parse(text)


def test_two_dates_may_be_parted_by_a_persian_comma():
    assert days(period_parse("۱۴۰۵-۰۹-۰۱، ۱۴۰۵-۰۹-۰۵")) == (date(2026, 11, 22), date(2026, 11, 26))
