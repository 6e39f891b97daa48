"""When a scheduled message is due: its occurrences as clock times ("walls", naive datetimes
read on the message's clock, or on each customer's own), from its repeat: once, daily, weekly on
given days, monthly on a day of the Gregorian or the Jalali month, or an RFC 5545 RRULE
(python-dateutil), until a day or for N times.

Monthly on the 29th, 30th or 31st falls on the last day of a shorter month (Esfand's 29th, a
Gregorian February's 28th): that is what an operator means by "monthly on the 31st". A raw
RRULE keeps RFC 5545's own meaning (BYMONTHDAY=31 skips the months without one).

No schedule is followed further than ten years past its first time."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil import rrule as du
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from vpnbot.core import dates

from .errors import NotificationError

ONCE, DAILY, WEEKLY, MONTHLY, RRULE = "once", "daily", "weekly", "monthly", "rrule"
MIN_GAP = timedelta(hours=1)  # occurrences closer than this are refused (a raw RRULE's BYMINUTE…)
CHECKED = 50  # occurrences looked at for the gap
WALL_FORMAT = "%Y-%m-%dT%H:%M:%S"
DAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
DAY_NAMES = [gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"), gettext_lazy("Thursday"),
             gettext_lazy("Friday"), gettext_lazy("Saturday"), gettext_lazy("Sunday")]
# the order a reader's week starts in: Saturday for a Jalali reader, Monday otherwise
WEEK_ORDER = {dates.JALALI: [5, 6, 0, 1, 2, 3, 4], dates.GREGORIAN: [0, 1, 2, 3, 4, 5, 6]}
_DAY_ALIASES = {**{code: i for i, code in enumerate(DAY_CODES)},
                **{name: i for i, name in enumerate(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"])},
                **{name: i for i, name in enumerate(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY",
                                                     "SUNDAY"])},
                **{name: i for i, name in enumerate(["دوشنبه", "سه\u200cشنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه",
                                                     "یکشنبه"])},
                "پنج\u200cشنبه": 3, "یک\u200cشنبه": 6}
# Persian day names written with a space where a zero-width non-joiner belongs
_SPACED = re.compile(r"(سه|پنج|یک)\s+شنبه")


def wall_key(wall: datetime) -> str:
    """An occurrence's stored clock time: 2026-03-21T10:00:00."""
    return wall.strftime(WALL_FORMAT)


def wall_from_key(key: str) -> datetime:
    return datetime.strptime(key, WALL_FORMAT)


def parse_weekdays(value) -> list[int]:
    """Weekdays (0 = Monday … 6 = Sunday) from numbers, RRULE codes (MO, TH), English names
    or Persian ones, as a list or a text separated by commas or spaces; sorted, no repeats."""
    if isinstance(value, str):
        text = _SPACED.sub("\\1\u200cشنبه", value.replace("،", ","))
        items = [p for p in re.split(r"[,\s]+", text) if p]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise NotificationError(_("Give the weekdays as a list, e.g. MO, TH."))
    days = set()
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
            days.add(item)
            continue
        key = str(item).strip().upper()
        if key not in _DAY_ALIASES:
            key = str(item).strip()
        if key not in _DAY_ALIASES:
            raise NotificationError(_("Unknown weekday %(day)s: use MO, TU, WE, TH, FR, SA, SU.") % {"day": item})
        days.add(_DAY_ALIASES[key])
    return sorted(days)


@dataclass(frozen=True)
class Recurrence:
    """A schedule's rule. `start` is the first clock time (naive); `until` the last day
    (inclusive) on that clock; `count` the number of occurrences."""

    start: datetime
    repeat: str = ONCE
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None
    calendar: str = dates.GREGORIAN
    rrule: str = ""
    until: date | None = None
    count: int | None = None

    @classmethod
    def of(cls, message) -> Recurrence:
        """The rule of a ScheduledMessage (its starts_at read on its own clock)."""
        return cls(start=dates.wall_clock(message.starts_at, message.time_zone), repeat=message.repeat,
                   interval=message.interval or 1, weekdays=tuple(message.weekdays or ()), month_day=message.month_day,
                   calendar=message.calendar, rrule=message.rrule, until=message.until, count=message.count)

    # -- the clock times ------------------------------------------------------------------------------
    def _end(self) -> datetime:
        end = self.start + dates.MAX_SPAN
        if self.until is not None:
            end = min(end, datetime.combine(self.until, time.max))
        return end

    def _source(self) -> Iterator[datetime]:
        end = self._end()
        if self.repeat == ONCE:
            return iter([self.start])
        if self.repeat == RRULE:
            return parse_rrule(self.rrule, self.start, end)
        if self.repeat == MONTHLY and self.calendar == dates.JALALI:
            return self._jalali_months(end)
        kwargs = {"dtstart": self.start, "interval": self.interval, "until": end}
        if self.repeat == DAILY:
            return iter(du.rrule(du.DAILY, **kwargs))
        if self.repeat == WEEKLY:
            return iter(du.rrule(du.WEEKLY, byweekday=list(self.weekdays or [self.start.weekday()]), **kwargs))
        if self.repeat == MONTHLY:
            day = self.month_day or self.start.day
            if day <= 28:
                return iter(du.rrule(du.MONTHLY, bymonthday=day, **kwargs))
            # the day, or the month's last when it has fewer days
            return iter(du.rrule(du.MONTHLY, bymonthday=list(range(28, day + 1)), bysetpos=-1, **kwargs))
        raise NotificationError(_("Unknown repeat %(repeat)s.") % {"repeat": self.repeat})

    def _jalali_months(self, end: datetime) -> Iterator[datetime]:
        year, month, _day = dates.jalali_ymd(self.start.date())
        wanted = self.month_day or _day
        while True:
            day = dates.from_jalali(year, month, min(wanted, dates.jalali_month_days(year, month)))
            wall = datetime.combine(day, self.start.time())
            if wall > end:
                return
            if wall >= self.start:
                yield wall
            month += self.interval
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1

    def walls(self, after: datetime | None = None) -> Iterator[datetime]:
        """The clock times in order, those after `after` only (all from the start without it)."""
        source = self._source()
        if self.count is not None:
            source = itertools.islice(source, self.count)
        for wall in source:
            if after is None or wall > after:
                yield wall

    def first(self) -> datetime | None:
        return next(self.walls(), None)

    def next_after(self, after: datetime | None) -> datetime | None:
        return next(self.walls(after), None)

    def check(self) -> None:
        """Refuse a rule with no occurrence or with occurrences less than an hour apart."""
        sample = list(itertools.islice(self.walls(), CHECKED))
        if not sample:
            raise NotificationError(_("This schedule has no occurrence: check its first time, its end and its rule."))
        for earlier, later in itertools.pairwise(sample):
            if later - earlier < MIN_GAP:
                raise NotificationError(_("Occurrences must be at least an hour apart."))

    # -- in words ---------------------------------------------------------------------------------------------
    def describe(self, calendar: str) -> str:
        """The rule as an operator reads it ("Every week on Mon, Thu, 5 times")."""
        n = self.interval
        if self.repeat == ONCE:
            text = _("Once")
        elif self.repeat == DAILY:
            text = _("Every day") if n == 1 else _("Every %(n)s days") % {"n": n}
        elif self.repeat == WEEKLY:
            days = [d for d in WEEK_ORDER[calendar] if d in (self.weekdays or [self.start.weekday()])]
            names = ", ".join(str(DAY_NAMES[d]) for d in days)
            text = (_("Every week on %(days)s") % {"days": names} if n == 1
                    else _("Every %(n)s weeks on %(days)s") % {"n": n, "days": names})
        elif self.repeat == MONTHLY:
            day = self.month_day or (dates.jalali_ymd(self.start.date())[2] if self.calendar == dates.JALALI
                                     else self.start.day)
            months = _("Jalali") if self.calendar == dates.JALALI else _("Gregorian")
            text = (_("Every %(months)s month on day %(day)s") % {"day": day, "months": months} if n == 1
                    else _("Every %(n)s %(months)s months on day %(day)s") % {"n": n, "day": day, "months": months})
            if day >= 29:
                text += " " + _("(the last day of a shorter month)")
        else:
            text = _("Rule: %(rule)s") % {"rule": self.rrule}
        if self.repeat != ONCE:
            if self.until is not None:
                text += ", " + _("until %(day)s") % {"day": dates.day_text(self.until, calendar)}
            if self.count is not None:
                text += ", " + ngettext("%(n)s time", "%(n)s times", self.count) % {"n": self.count}
        return text


def parse_rrule(text: str, start: datetime, end: datetime) -> Iterator[datetime]:
    """A raw RRULE ("FREQ=WEEKLY;BYDAY=MO,TH", "RRULE:" allowed) from `start` (its DTSTART)
    up to `end`; NotificationError for anything else: several lines, DTSTART, EXDATE, a
    frequency under an hour, or what dateutil cannot read."""
    rule = (text or "").strip()
    if rule.upper().startswith("RRULE:"):
        rule = rule[6:].strip()
    if not rule or "\n" in rule or ":" in rule or "DTSTART" in rule.upper():
        raise NotificationError(_("Give one RRULE line, e.g. FREQ=WEEKLY;BYDAY=MO,TH (its start is the first time)."))
    try:
        parsed = du.rrulestr(rule, dtstart=start)
    except (ValueError, TypeError) as exc:
        if "UNTIL" in str(exc):
            raise NotificationError(_("Write the RRULE's UNTIL as a local time without Z (20260630T235900), "
                                      "or give the last day separately.")) from None
        raise NotificationError(_("The RRULE cannot be read: %(error)s") % {"error": exc}) from None
    if not isinstance(parsed, du.rrule) or parsed._freq in (du.MINUTELY, du.SECONDLY):
        raise NotificationError(_("Occurrences must be at least an hour apart."))
    return _capped(parsed, end)


def _capped(rule: du.rrule, end: datetime) -> Iterator[datetime]:
    for wall in rule:
        if wall > end:
            return
        yield wall
