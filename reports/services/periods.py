"""Periods as an owner names them ("today", "week", "month", "1405-09", "2026-11", two dates),
turned into aware [start, end) instants at the shop's local midnights (TIME_ZONE, Tehran by
default), and cut into days, weeks or months for series and charts. Months and weeks follow
the Jalali calendar for a Persian reader (weeks start on Saturday) and the Gregorian one
otherwise (weeks start on Monday)."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import jdatetime
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core import dates
from vpnbot.core.numbers import latin_digits

JALALI, GREGORIAN = "jalali", "gregorian"
MAX_DAYS = 3660  # ten years: a longer range is refused rather than scanned
FIRST_YEAR, LAST_YEAR = 1900, 2999  # the years a report may reach (9999-12-31 has no day after)


class PeriodError(ValueError):
    """A period that cannot be read; the message says what is accepted."""


def _unreadable() -> str:
    return _("Give one period: today, yesterday, week, month, 7d, YYYY-MM, or two dates FROM TO.")


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, the first instant (a local midnight)
    end: datetime  # aware, the first instant after (a local midnight)
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    calendar: str = GREGORIAN

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def label(self) -> str:
        first, last = day_label(self.first_day, self.calendar), day_label(self.last_day, self.calendar)
        return first if first == last else f"{first} – {last}"

    def previous(self) -> Period:
        """What an owner compares a period with: a calendar month, the month before; a month so
        far (from its first day), the same days of the month before (as many as that month has);
        anything else, as many days just before."""
        if _is_month(self):
            before = self.first_day - timedelta(days=1)
            return month_period(*month_of(before, self.calendar), calendar=self.calendar)
        this_month = month_period(*month_of(self.first_day, self.calendar), calendar=self.calendar)
        if self.first_day == this_month.first_day and self.last_day <= this_month.last_day:
            before = month_period(*month_of(self.first_day - timedelta(days=1), self.calendar), calendar=self.calendar)
            last = min(before.first_day + timedelta(days=self.days - 1), before.last_day)
            return day_range(before.first_day, last, calendar=self.calendar)
        return day_range(self.first_day - timedelta(days=self.days), self.first_day - timedelta(days=1),
                         calendar=self.calendar)


def shop_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def calendar_for(language: str | None) -> str:
    """Jalali for a Persian reader, Gregorian for anyone else."""
    return JALALI if (language or settings.LANGUAGE_CODE).startswith("fa") else GREGORIAN


def local_today(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), shop_zone()).date()


def midnight(day: date) -> datetime:
    """The aware instant of a local midnight (zoneinfo resolves a DST gap or fold)."""
    return datetime.combine(day, time.min, tzinfo=shop_zone())


def day_range(first: date, last: date, *, calendar: str = GREGORIAN) -> Period:
    if last < first:
        raise PeriodError(_("The end date is before the start date."))
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(_("A report covers 1 to %(n)s days.") % {"n": MAX_DAYS})
    if not (FIRST_YEAR <= first.year and last.year <= LAST_YEAR):
        raise PeriodError(_("Give dates between the years %(first)s and %(last)s.") % {
            "first": FIRST_YEAR, "last": LAST_YEAR})
    return Period(midnight(first), midnight(last + timedelta(days=1)), first, last, calendar)


def month_of(day: date, calendar: str) -> tuple[int, int]:
    if calendar == JALALI:
        j = jdatetime.date.fromgregorian(date=day)
        return j.year, j.month
    return day.year, day.month


def month_period(year: int, month: int, *, calendar: str) -> Period:
    """One calendar month (Jalali or Gregorian) of local days."""
    if not 1 <= month <= 12:
        raise PeriodError(_("The month must be 1 to 12."))
    try:
        if calendar == JALALI:
            first = jdatetime.date(year, month, 1).togregorian()
            nxt = jdatetime.date(year + (month == 12), month % 12 + 1, 1).togregorian()
        else:
            first = date(year, month, 1)
            nxt = date(year + (month == 12), month % 12 + 1, 1)
    except ValueError:
        raise PeriodError(_("There is no such month.")) from None
    return day_range(first, nxt - timedelta(days=1), calendar=calendar)


def week_start(day: date, calendar: str) -> date:
    # Jalali weeks start on Saturday (weekday 5), Gregorian ones on Monday (0)
    return day - timedelta(days=(day.weekday() - (5 if calendar == JALALI else 0)) % 7)


def _is_month(period: Period) -> bool:
    span = month_period(*month_of(period.first_day, period.calendar), calendar=period.calendar)
    return (span.first_day, span.last_day) == (period.first_day, period.last_day)


def parse_day(text: str, calendar: str = GREGORIAN) -> date:
    """YYYY-MM-DD (or with /); a year below 1700 is Jalali (1405-09-08), else Gregorian."""
    try:
        return dates.parse_day(text)
    except dates.DateError as exc:
        raise PeriodError(str(exc)) from None


def period_parse(text: str = "", *, calendar: str = GREGORIAN, now: datetime | None = None) -> Period:
    """today | yesterday | week (this week so far) | month (this month so far) | 7d / 30d (the
    last N days, today included) | YYYY-MM (a month; Jalali when the year is below 1700) |
    two dates "FROM TO" (inclusive). Empty means today."""
    words = latin_digits((text or "").strip().lower()).replace(",", " ").replace("،", " ").split()
    today = local_today(now)
    if not words or words == ["today"]:
        return day_range(today, today, calendar=calendar)
    if len(words) == 2:
        return day_range(parse_day(words[0]), parse_day(words[1]), calendar=calendar)
    if len(words) != 1:
        raise PeriodError(_unreadable())
    word = words[0]
    if word == "yesterday":
        return day_range(today - timedelta(days=1), today - timedelta(days=1), calendar=calendar)
    if word == "week":
        return day_range(week_start(today, calendar), today, calendar=calendar)
    if word == "month":
        return day_range(month_period(*month_of(today, calendar), calendar=calendar).first_day, today,
                         calendar=calendar)
    match = re.fullmatch(r"(\d{1,4})d", word)
    if match:
        days = int(match.group(1))
        if not 1 <= days <= MAX_DAYS:
            raise PeriodError(_("A report covers 1 to %(n)s days.") % {"n": MAX_DAYS})
        return day_range(today - timedelta(days=days - 1), today, calendar=calendar)
    match = re.fullmatch(r"(\d{4})[-/](\d{1,2})", word)
    if match:
        year, month = map(int, match.groups())
        return month_period(year, month, calendar=JALALI if year < 1700 else GREGORIAN)
    if re.fullmatch(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}", word):
        day = parse_day(word)
        return day_range(day, day, calendar=calendar)
    raise PeriodError(_unreadable())


# --- cutting a period into buckets --------------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    start: datetime
    end: datetime
    label: str


def day_label(day: date, calendar: str) -> str:
    if calendar == JALALI:
        return jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d")
    return day.isoformat()


def month_label(year: int, month: int, calendar: str) -> str:
    return f"{year:04d}/{month:02d}" if calendar == JALALI else f"{year:04d}-{month:02d}"


def buckets(period: Period, unit: str = "") -> list[Bucket]:
    """The period cut into local days (up to 62 days), weeks (up to ~1 year) or calendar months."""
    unit = unit or ("day" if period.days <= 62 else "week" if period.days <= 366 else "month")
    out: list[Bucket] = []
    if unit == "day":
        day = period.first_day
        while day <= period.last_day:
            out.append(Bucket(midnight(day), midnight(day + timedelta(days=1)), day_label(day, period.calendar)))
            day += timedelta(days=1)
    elif unit == "week":
        day = period.first_day
        while day <= period.last_day:
            nxt = week_start(day, period.calendar) + timedelta(days=7)
            out.append(Bucket(midnight(day), midnight(min(nxt, period.last_day + timedelta(days=1))),
                              day_label(day, period.calendar)))
            day = nxt
    else:
        year, month = month_of(period.first_day, period.calendar)
        while True:
            month_span = month_period(year, month, calendar=period.calendar)
            if month_span.first_day > period.last_day:
                break
            out.append(Bucket(max(month_span.start, period.start), min(month_span.end, period.end),
                              month_label(year, month, period.calendar)))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def last_months(months: int, *, calendar: str, now: datetime | None = None) -> list[Bucket]:
    """The last `months` calendar months, this one included, oldest first."""
    year, month = month_of(local_today(now), calendar)
    out = []
    for _i in range(months):
        span = month_period(year, month, calendar=calendar)
        out.append(Bucket(span.start, span.end, month_label(year, month, calendar)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]
