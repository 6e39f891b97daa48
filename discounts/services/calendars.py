"""Time as the customer lives it: their time zone, Jalali or Gregorian dates and month names,
happy-hour ranges, yearly seasons, and the birth month (with its once-a-year rule)."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import jdatetime
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.shop.formatting import format_date
from vpnbot.shop.models import Customer

from ..models import SmartDiscount
from .rules import ALL_DAYS, MIDNIGHT, TIME_RE, DiscountError

if TYPE_CHECKING:  # for the annotation only: facts imports this module
    from .facts import Facts

JALALI_MONTHS = [gettext_lazy("Farvardin"), gettext_lazy("Ordibehesht"), gettext_lazy("Khordad"), gettext_lazy("Tir"),
                 gettext_lazy("Mordad"), gettext_lazy("Shahrivar"), gettext_lazy("Mehr"), gettext_lazy("Aban"),
                 gettext_lazy("Azar"), gettext_lazy("Dey"), gettext_lazy("Bahman"), gettext_lazy("Esfand")]
GREGORIAN_MONTHS = [gettext_lazy("January"), gettext_lazy("February"), gettext_lazy("March"), gettext_lazy("April"),
                    gettext_lazy("May"), gettext_lazy("June"), gettext_lazy("July"), gettext_lazy("August"),
                    gettext_lazy("September"), gettext_lazy("October"), gettext_lazy("November"), gettext_lazy("December")]
WEEKDAYS = [gettext_lazy("Mon"), gettext_lazy("Tue"), gettext_lazy("Wed"), gettext_lazy("Thu"), gettext_lazy("Fri"),
            gettext_lazy("Sat"), gettext_lazy("Sun")]


def customer_zone(customer: Customer | None) -> zoneinfo.ZoneInfo:
    name = customer.tz_name if customer is not None else settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def calendar_name(value: str | None = None) -> str:
    value = value or settings.CALENDAR
    return "gregorian" if value == "gregorian" else "jalali"


@functools.lru_cache(maxsize=4096)
def month_day(day: date, calendar: str) -> tuple[int, int, int]:
    """(year, month, day) of a local date in the calendar."""
    if calendar_name(calendar) == "jalali":
        j = jdatetime.date.fromgregorian(date=day)
        return j.year, j.month, j.day
    return day.year, day.month, day.day


def month_names(calendar: str | None = None) -> list:
    return JALALI_MONTHS if calendar_name(calendar) == "jalali" else GREGORIAN_MONTHS


def short_date(moment: datetime, customer: Customer | None) -> str:
    """The day of `moment` as the customer reads dates, without the time."""
    return format_date(moment, customer).split(" ")[0]


# --- happy hours and seasons ------------------------------------------------------------------------

def parse_time(value) -> time:
    """"HH:MM" (or "24:00", read as midnight) -> time; ValueError otherwise."""
    if not isinstance(value, str) or not TIME_RE.match(value.strip()):
        raise ValueError(value)
    if value.strip() == "24:00":
        return time(0, 0)
    hour, minute = value.strip().split(":")
    return time(int(hour), int(minute))


def _ranges(discount: SmartDiscount) -> list[tuple[time, time]]:
    cached = discount.__dict__.get("_parsed_ranges")
    if cached is None:
        cached = [(parse_time(a), parse_time(b)) for a, b in discount.params.get("ranges", [])]
        discount.__dict__["_parsed_ranges"] = cached
    return cached


def in_hours(discount: SmartDiscount, local: datetime) -> bool:
    return in_hours_at(discount, local.time().replace(tzinfo=None), local.weekday())


def in_hours_at(discount: SmartDiscount, now: time, weekday: int) -> bool:
    weekdays = discount.params.get("weekdays", ALL_DAYS)
    for start, end in _ranges(discount):
        if start < end or end == MIDNIGHT:
            if now >= start and (end == MIDNIGHT or now < end) and weekday in weekdays:
                return True
        else:  # crosses midnight: the part after midnight belongs to the day the range began
            if now >= start and weekday in weekdays:
                return True
            if now < end and (weekday - 1) % 7 in weekdays:
                return True
    return False


def in_season(discount: SmartDiscount, local: datetime) -> bool:
    season = discount.__dict__.get("_parsed_season")
    if season is None:
        season = (calendar_name(discount.params.get("calendar")),
                  tuple(int(x) for x in discount.params["from"].split("-")),
                  tuple(int(x) for x in discount.params["to"].split("-")))
        discount.__dict__["_parsed_season"] = season
    calendar, start, end = season
    _year, month, day = month_day(local.date(), calendar)
    today = (month, day)
    return start <= today <= end if start <= end else (today >= start or today <= end)


# --- birthdays ---------------------------------------------------------------------------------------

def birthday_ok(discount: SmartDiscount, customer: Customer, local: datetime, facts: Facts) -> bool:
    if not customer or not customer.birth_month:
        return False
    year, month, _day = month_day(local.date(), settings.CALENDAR)
    if month != customer.birth_month:
        return False
    used = facts.usage.get(discount.pk)
    if used and used[1] is not None:
        last = used[1].astimezone(local.tzinfo)
        last_year, last_month, _d = month_day(last.date(), settings.CALENDAR)
        if (last_year, last_month) == (year, month):
            return False  # once per year, in this birth month
    return True


def birthday_set(*, customer: Customer, month: int, now: datetime | None = None) -> Customer:
    """Store the birth month (in settings.CALENDAR); changeable once per BIRTHDAY_CHANGE_DAYS."""
    now = now or timezone.now()
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise DiscountError(_("Choose a month from the list."))
    with transaction.atomic():
        fresh = Customer.objects.select_for_update().get(pk=customer.pk)
        if fresh.birth_month == month:
            return fresh
        wait = timedelta(days=settings.BIRTHDAY_CHANGE_DAYS)
        if fresh.birth_month and fresh.birth_month_set_at and now - fresh.birth_month_set_at < wait:
            raise DiscountError(_("You can change your birth month again after %(date)s.") % {
                "date": short_date(fresh.birth_month_set_at + wait, fresh)})
        Customer.objects.filter(pk=fresh.pk).update(birth_month=month, birth_month_set_at=now)
    customer.birth_month, customer.birth_month_set_at = month, now
    return customer
