"""How the dashboard writes numbers, amounts and dates for its reader: Persian digits and the
Jalali calendar in Persian, Latin digits and the Gregorian calendar otherwise. Pure formatting."""

from __future__ import annotations

from datetime import date, datetime

import jdatetime
from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from ..services.periods import JALALI, calendar_for, day_label, shop_zone

_PERSIAN = str.maketrans("0123456789,.", "۰۱۲۳۴۵۶۷۸۹٬٫")


def is_persian(language: str) -> bool:
    return calendar_for(language) == JALALI


def digits(text: str, language: str) -> str:
    return text.translate(_PERSIAN) if is_persian(language) else text


def number(value: int, language: str) -> str:
    return digits(f"{value:,}", language)


def amount(value: int, language: str) -> str:
    currency = _("Toman") if settings.CURRENCY == "Toman" else settings.CURRENCY
    return f"{number(value, language)} {currency}"


def change(value: int, previous: int, language: str) -> tuple[str, str]:
    """The change from the previous period as (text, direction): "+12%" and "up", "−5%" and
    "down", "±0" and "same"; without a previous figure there is no percentage (a "new")."""
    if value == previous:
        return "±0", "same"
    direction = "up" if value > previous else "down"
    if not previous:
        return _("new"), direction
    percent = (value - previous) * 100 / abs(previous)
    text = f"{percent:+.0f}%" if abs(percent) >= 1 else f"{percent:+.1f}%"
    return digits(text.replace("-", "−"), language), direction


def day(value: date, language: str) -> str:
    return digits(day_label(value, calendar_for(language)), language)


def moment(value: datetime | None, language: str) -> str:
    """An instant on the shop's clock (Jalali in Persian)."""
    if value is None:
        return _("never")
    local = timezone.localtime(value, shop_zone())
    if is_persian(language):
        return digits(jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d %H:%M"), language)
    return local.strftime("%Y-%m-%d %H:%M")


def ago(value: datetime | None, now: datetime, language: str) -> str:
    """How long ago, in words of the reader's language ("3 hours"), its largest unit only."""
    if value is None:
        return _("never")
    return digits(timesince(value, now, depth=1), language)
