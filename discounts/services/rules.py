"""The ground rules of smart discounts, below every other service: the switch, the kinds,
loyalty levels from lifetime spend, and how a discount's name and value read."""

from __future__ import annotations

import re
from datetime import time

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.shop.formatting import money

from ..conditions import LEVELS
from ..errors import DiscountError
from ..models import SmartDiscount, UserDiscountProfile

__all__ = ["ALL_DAYS", "CODE_RE", "KIND_LABELS", "Kind", "LEVELS", "MD_RE", "MIDNIGHT", "TIME_RE", "DiscountError",
           "discount_label", "enabled", "level_for", "level_label", "loyalty_thresholds", "value_text"]

Kind = SmartDiscount.Kind
KIND_LABELS = dict(Kind.choices)
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$|^24:00$")
MD_RE = re.compile(r"^(\d{1,2})-(\d{1,2})$")
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)
MIDNIGHT = time(0, 0)


def enabled() -> bool:
    return bool(settings.ENABLE_SMART_DISCOUNTS)


# --- loyalty levels -----------------------------------------------------------------------------

def loyalty_thresholds() -> list[tuple[str, int]]:
    """[("bronze", 0), ("silver", N), ...] from settings.LOYALTY_THRESHOLDS, ascending."""
    result = {"bronze": 0}
    for part in str(settings.LOYALTY_THRESHOLDS or "").split(","):
        if ":" not in part:
            continue
        name, _sep, amount = part.partition(":")
        name = name.strip().lower()
        if name in LEVELS and amount.strip().isdigit():
            result[name] = int(amount.strip())
    return sorted(result.items(), key=lambda item: (item[1], LEVELS.index(item[0])))


def level_for(spend: int) -> str:
    level = "bronze"
    for name, threshold in loyalty_thresholds():
        if spend >= threshold:
            level = name
    return level


def level_label(level: str) -> str:
    return str(dict(UserDiscountProfile.Level.choices).get(level, level))


# --- a discount's name and value -----------------------------------------------------------------

def discount_label(discount: SmartDiscount) -> str:
    if discount.kind == Kind.CODE:
        label = _("Code %(code)s") % {"code": discount.code}
    else:
        label = str(KIND_LABELS.get(discount.kind, discount.kind))
    return f"{label} «{discount.title}»" if discount.title else label


def value_text(discount: SmartDiscount, tier: dict | None = None) -> str:
    source = tier if tier is not None else {"percent_bp": discount.percent_bp, "fixed_amount": discount.fixed_amount}
    if source.get("percent_bp"):
        bp = source["percent_bp"]
        text = f"{bp // 100}%" if bp % 100 == 0 else f"{bp / 100:g}%"
    else:
        text = money(source.get("fixed_amount") or 0)
    if discount.cap_amount is not None and source.get("percent_bp"):
        text += " " + _("(up to %(amount)s)") % {"amount": money(discount.cap_amount)}
    return text
