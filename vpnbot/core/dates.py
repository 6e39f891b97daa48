"""Dates and times typed by people and shown to them: a day or a day and time in the Jalali
(Solar Hijri) or the Gregorian calendar, in Latin, Persian or Arabic digits ("1405/01/01 10:00",
"۱۴۰۵-۰۱-۰۱ ۱۰:۰۰", "2026-03-21T10:00+03:30"), and the same instants written back in either
calendar. A year below 1700 is Jalali; anything else is Gregorian.

Wall-clock times ("10:00 on the 21st", naive datetimes) become instants in a time zone with
`localise`, which resolves a clock time that a DST change skips (it is moved forward by the
gap) or repeats (the first of the two) the same way everywhere."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import jdatetime
from django.utils.translation import gettext as _

from .numbers import latin_digits

JALALI, GREGORIAN = "jalali", "gregorian"
FIRST_JALALI_GREGORIAN_YEAR = 1700  # years below are Jalali (1405), years from it Gregorian (2026)

_DAY = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.I)


class DateError(ValueError):
    """A date or a time that cannot be read; the message says what is accepted (translated)."""


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone of this name; DateError for a name zoneinfo does not know."""
    try:
        return zoneinfo.ZoneInfo(str(name or ""))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DateError(_("Unknown time zone: %(name)s.") % {"name": name}) from None


def is_zone(name: str | None) -> bool:
    try:
        zone(name)
    except DateError:
        return False
    return True


def _day(year: int, month: int, day: int, text: str) -> date:
    try:
        if year < FIRST_JALALI_GREGORIAN_YEAR:
            return jdatetime.date(year, month, day).togregorian()
        return date(year, month, day)
    except ValueError:
        raise DateError(_("There is no such date: %(text)s.") % {"text": text}) from None


def parse_day(text: str) -> date:
    """YYYY-MM-DD (or with / or .); a year below 1700 is Jalali (1405-01-01), else Gregorian."""
    clean = latin_digits(str(text or "")).strip()
    match = _DAY.fullmatch(clean)
    if not match:
        raise DateError(_("Write a date as YYYY-MM-DD (a year below 1700 is Jalali): %(text)s.") % {"text": clean})
    return _day(*map(int, match.groups()), clean)


def parse_datetime(text: str, zone_name: str) -> datetime:
    """An instant from "YYYY-MM-DD HH:MM" (or with T, / or .; seconds allowed), read in the
    zone zone_name, Jalali when the year is below 1700; an ISO 8601 text with an offset
    ("2026-03-21T10:00:00+03:30", "…Z") is that instant wherever it was written."""
    clean = latin_digits(str(text or "")).strip()
    offset = _OFFSET.search(clean)
    body = clean[:offset.start()].rstrip() if offset else clean
    parts = re.split(r"[T\s]+", body, maxsplit=1)
    day_match = _DAY.fullmatch(parts[0]) if parts else None
    time_match = _TIME.fullmatch(parts[1]) if len(parts) == 2 else None
    if not day_match or not time_match:
        raise DateError(_("Write a date and time as YYYY-MM-DD HH:MM (a year below 1700 is Jalali): %(text)s.")
                        % {"text": clean})
    day = _day(*map(int, day_match.groups()), clean)
    hour, minute, second = (int(g or 0) for g in time_match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise DateError(_("There is no such time: %(text)s.") % {"text": clean})
    wall = datetime.combine(day, time(hour, minute, second))
    if offset:
        try:
            return datetime.fromisoformat(f"{wall.isoformat()}{offset.group(1).upper()}").astimezone(UTC)
        except ValueError:
            raise DateError(_("There is no such time: %(text)s.") % {"text": clean}) from None
    return localise(wall, zone_name)


def localise(wall: datetime, zone_name: str) -> datetime:
    """The instant (in UTC) at which the clocks of the zone show `wall` (naive): a time that a
    DST change skips is moved forward by the gap (02:30 on a spring-forward night is 03:30), a
    time it repeats is the first of the two."""
    # fold=0 (PEP 495): a repeated time is its first instant, and a skipped one is read with
    # the offset from before the change, which lands the gap's length later on the new clock
    return wall.replace(tzinfo=zone(zone_name), fold=0).astimezone(UTC)


def wall_clock(value: datetime, zone_name: str) -> datetime:
    """What the clocks of the zone show at the instant `value` (naive)."""
    return value.astimezone(zone(zone_name)).replace(tzinfo=None)


def calendar_for(language: str | None, default: str = GREGORIAN) -> str:
    """Jalali for a Persian reader, Gregorian for an English one, else the default."""
    language = (language or "").lower()
    if language.startswith("fa"):
        return JALALI
    if language.startswith("en"):
        return GREGORIAN
    return default


def day_text(day: date, calendar: str) -> str:
    """1405/01/01 in the Jalali calendar, 2026-03-21 in the Gregorian one."""
    if calendar == JALALI:
        return jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d")
    return day.isoformat()


def wall_text(wall: datetime, calendar: str) -> str:
    """A clock time as a person reads it: 1405/01/01 10:00, or 2026-03-21 10:00."""
    return f"{day_text(wall.date(), calendar)} {wall:%H:%M}"


def instant_text(value: datetime, zone_name: str, calendar: str) -> str:
    """An instant on the clocks of a zone: 1405/01/01 10:00 or 2026-03-21 10:00."""
    return wall_text(wall_clock(value, zone_name), calendar)


def jalali_month_days(year: int, month: int) -> int:
    """How many days a Jalali month has (Esfand: 29, or 30 in a leap year)."""
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if jdatetime.date(year, 1, 1).isleap() else 29


def jalali_ymd(day: date) -> tuple[int, int, int]:
    j = jdatetime.date.fromgregorian(date=day)
    return j.year, j.month, j.day


def from_jalali(year: int, month: int, day: int) -> date:
    return jdatetime.date(year, month, day).togregorian()


MAX_SPAN = timedelta(days=3650)  # how far ahead a schedule is followed (ten years)
