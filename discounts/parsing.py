"""Parsing what an admin types in the /add_smart_discount conversation. Each function
returns clean values or raises DiscountError with a message for the admin."""

from __future__ import annotations

import json
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from vpnbot.core import bounds
from vpnbot.core.numbers import latin_digits, parse_whole_number

from . import conditions
from .services import LEVELS, DiscountError, check_params

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MAX_AMOUNT = bounds.MAX_AMOUNT


def normalize(text: str) -> str:
    return latin_digits(text).strip()


def _amount(text: str) -> int:
    text = text.replace(",", "").replace("_", "")
    number = parse_whole_number(text, max_digits=13)
    if number is None or not 1 <= number <= MAX_AMOUNT:
        raise DiscountError(_("%(text)s is not a valid amount (a positive whole number).") % {"text": text[:20]})
    return number


def _percent_bp(text: str) -> int:
    number = text.rstrip("%").strip()
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", number):
        raise DiscountError(_("%(text)s is not a valid percentage (e.g. 15%% or 12.5%%).") % {"text": text[:20]})
    bp = int(round(float(number) * 100))
    if not 1 <= bp <= bounds.BASIS_POINTS:
        raise DiscountError(_("A percentage must be above 0% and at most 100%."))
    return bp


def parse_value(text: str) -> dict:
    """'15%', '50000', '15% max 30000' -> {percent_bp|fixed_amount, cap_amount}."""
    text = normalize(text).lower()
    match = re.fullmatch(r"(\S+)(?:\s+(?:max|cap|حداکثر)\s+(\S+))?", text)
    if not match:
        # xgettext:no-python-format
        raise DiscountError(_("Send a percentage like 15% or an amount like 50000, optionally followed by max 30000."))
    value, cap = match.group(1), match.group(2)
    result = {"percent_bp": None, "fixed_amount": None, "cap_amount": None}
    if value.endswith("%"):
        result["percent_bp"] = _percent_bp(value)
    else:
        result["fixed_amount"] = _amount(value)
    if cap is not None:
        if result["percent_bp"] is None:
            raise DiscountError(_("A cap only makes sense for a percentage."))
        result["cap_amount"] = _amount(cap)
    return result


def parse_tiers(text: str) -> dict:
    """'3:5%, 6:10%' (periods) or 'amount:300000:10%, amount:600000:50000' -> bulk params."""
    text = normalize(text).lower()
    basis = "quantity"
    tiers = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        pieces = [p.strip() for p in part.split(":")]
        if pieces[0] == "amount":
            basis = "amount"
            pieces = pieces[1:]
        if len(pieces) != 2:
            raise DiscountError(_("Write each tier as minimum:value, e.g. 3:5%."))
        minimum = _amount(pieces[0])
        tier = {"min": minimum}
        if pieces[1].endswith("%"):
            tier["percent_bp"] = _percent_bp(pieces[1])
        else:
            tier["fixed_amount"] = _amount(pieces[1])
        tiers.append(tier)
    if not tiers:
        raise DiscountError(_("Give at least one tier, e.g. 3:5%."))
    if len({t["min"] for t in tiers}) != len(tiers):
        raise DiscountError(_("Two tiers have the same minimum."))
    params = {"basis": basis, "tiers": sorted(tiers, key=lambda t: t["min"])}
    _check("bulk", params)  # the bounds of a tier (a minimum no order reaches is refused here, not at the end)
    return params


def parse_levels(text: str) -> list[str]:
    levels = [p.strip().lower() for p in re.split(r"[,\s]+", normalize(text)) if p.strip()]
    if not levels or any(level not in LEVELS for level in levels):
        raise DiscountError(_("Choose from bronze, silver, gold, platinum."))
    return sorted(set(levels), key=LEVELS.index)


def _limit(text: str) -> int | None:
    if text in ("-", "0"):
        return None
    number = parse_whole_number(text, max_digits=9)
    if number is None:
        raise DiscountError(_("A limit is a whole number, or - for unlimited."))
    if number > bounds.MAX_COUNT:
        raise DiscountError(_("A limit is at most %(max)s, or - for unlimited.") % {"max": f"{bounds.MAX_COUNT:,}"})
    return number


def parse_limits(text: str) -> tuple[int | None, int | None]:
    parts = normalize(text).split()
    if len(parts) != 2:
        raise DiscountError(_("Send two values: total uses and uses per customer, e.g. 100 1 (- for unlimited)."))
    return _limit(parts[0]), _limit(parts[1])


def parse_hours(text: str) -> dict:
    """'sat,sun 20:00-23:00' or 'all 22:00-02:00, 12:00-14:00' -> hourly params."""
    text = normalize(text).lower()
    match = re.fullmatch(r"(\S+)\s+(.+)", text)
    if not match:
        raise DiscountError(_("Send days then hours, e.g. sat,sun 20:00-23:00."))
    days_text, ranges_text = match.groups()
    if days_text == "all":
        weekdays = list(range(7))
    else:
        try:
            weekdays = sorted({DAYS[d.strip()[:3]] for d in days_text.split(",") if d.strip()})
        except KeyError:
            raise DiscountError(_("Days are sat, sun, mon, tue, wed, thu, fri or all.")) from None
    ranges = []
    for part in ranges_text.split(","):
        times = re.fullmatch(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", part)
        if not times:
            raise DiscountError(_("Hours are written like 20:00-23:00."))
        ranges.append([times.group(1).zfill(5), times.group(2).zfill(5)])
    params = {"weekdays": weekdays, "ranges": ranges}
    _check("hourly", params)
    return params


def parse_season(text: str) -> dict:
    parts = normalize(text).lower().split()
    calendar = "jalali"
    if parts and parts[-1] in ("gregorian", "jalali"):
        calendar = parts.pop()
    if len(parts) != 2:
        raise DiscountError(_("Send two dates as month-day, e.g. 12-25 01-13."))
    params = {"calendar": calendar, "from": parts[0], "to": parts[1]}
    _check("seasonal", params)
    return params


def _days(text: str) -> int | None:
    """A number of days 1-3650 (MAX_DAYS; at most 6 digits), else None."""
    number = parse_whole_number(text, max_digits=6)
    return number if number is not None and 1 <= number <= bounds.MAX_DAYS else None


def parse_days(text: str) -> int | None:
    text = normalize(text)
    if text == "-":
        return None
    days = _days(text)
    if days is None:
        raise DiscountError(_("Send a number of days between 1 and 3650, or -."))
    return days


def parse_period_days(text: str) -> int:
    """The period of /smart_discount_stats: 1-3650 days."""
    days = _days(text)
    if days is None:
        raise DiscountError(_("Give the period in days (1-3650), e.g. /smart_discount_stats 7"))
    return days


def parse_page(text: str) -> int:
    """A page number for /list_smart_discounts; anything else is page 1."""
    number = parse_whole_number(text, max_digits=5)
    return 1 if number is None else number


def parse_conditions(text: str) -> dict:
    text = (text or "").strip()
    if text == "-":
        return {}
    try:
        tree = json.loads(text)
    except ValueError as exc:
        raise DiscountError(_("This is not valid JSON: %(error)s") % {"error": str(exc)[:100]}) from None
    except RecursionError:
        raise DiscountError(_("This is not valid JSON: %(error)s") % {"error": "nested too deeply"}) from None
    conditions.validate(tree)
    return tree


def _check(kind: str, params: dict) -> None:
    try:
        check_params(kind, params)
    except ValidationError as exc:
        raise DiscountError("; ".join(exc.messages)) from None
