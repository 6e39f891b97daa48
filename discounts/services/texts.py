"""What customers read about smart discounts: one line per discount they can get now or soon
(/available_discounts), in the active language and the customer's calendar."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vpnbot.shop.models import Customer

from .. import selectors
from ..models import SmartDiscount
from .calendars import WEEKDAYS, birthday_ok, customer_zone, in_hours, in_season, month_names, short_date
from .facts import Facts, customer_facts
from .quote import within_customer_limit
from .rules import Kind, discount_label, level_label, value_text


def list_separator() -> str:
    return "، " if translation.get_language() == "fa" else ", "


def _weekdays_text(days: list[int]) -> str:
    if sorted(days) == list(range(7)):
        return _("every day")
    return list_separator().join(str(WEEKDAYS[d]) for d in sorted(days))


def _season_text(discount: SmartDiscount) -> str:
    names = month_names(discount.params.get("calendar"))
    parts = []
    for key in ("from", "to"):
        month, day = (int(x) for x in discount.params[key].split("-"))
        parts.append(f"{day} {names[month - 1]}")
    return _("from %(start)s to %(end)s") % {"start": parts[0], "end": parts[1]}


def discount_describe(discount: SmartDiscount, *, customer: Customer | None, facts: Facts, local: datetime) -> str | None:
    """One line for /available_discounts, or None when it is not for this customer."""
    kind, label, value = discount.kind, discount_label(discount), value_text(discount) if discount.kind != Kind.BULK else ""
    now_mark = " " + _("— now!")
    if kind == Kind.HOURLY:
        ranges = list_separator().join(_("%(start)s to %(end)s") % {"start": a, "end": b} for a, b in discount.params["ranges"])
        line = _("⏰ %(label)s: %(value)s on %(days)s, %(ranges)s") % {
            "label": label, "value": value, "days": _weekdays_text(discount.params.get("weekdays", list(range(7)))),
            "ranges": ranges}
        return line + (now_mark if in_hours(discount, local) else "")
    if kind == Kind.FIRST_PURCHASE:
        return None if facts.paid_orders else _("🎉 %(label)s: %(value)s off your first purchase") % {"label": label, "value": value}
    if kind == Kind.BULK:
        unit = _("periods") if discount.params.get("basis", "quantity") == "quantity" else _("Toman or more")
        ordered = sorted(discount.params["tiers"], key=lambda t: t["min"])
        tiers = list_separator().join(f"{t['min']:,} {unit}: {value_text(discount, t)}" for t in ordered)
        return _("📦 %(label)s: %(tiers)s") % {"label": label, "tiers": tiers}
    if kind == Kind.LOYALTY:
        levels = list_separator().join(level_label(level) for level in discount.params["levels"])
        line = _("🏅 %(label)s (%(levels)s): %(value)s") % {"label": label, "levels": levels, "value": value}
        if facts.level in discount.params["levels"]:
            return line + " " + _("— yours!")
        return line + " " + _("(your level: %(level)s)") % {"level": level_label(facts.level)}
    if kind == Kind.SEASONAL:
        line = _("🌸 %(label)s: %(value)s %(when)s") % {"label": label, "value": value, "when": _season_text(discount)}
        return line + (now_mark if in_season(discount, local) else "")
    if kind == Kind.BIRTHDAY:
        if not customer or customer.birth_month not in range(1, 13):  # unset, or stored out of bounds
            return _("🎂 %(value)s in your birthday month: set it with /set_birthday") % {"value": value}
        month = month_names()[customer.birth_month - 1]
        line = _("🎂 %(value)s in your birthday month (%(month)s)") % {"value": value, "month": month}
        return line + (now_mark if birthday_ok(discount, customer, local, facts) else "")
    if kind == Kind.CODE:
        if discount.customer_id is None:
            return None  # public codes travel by campaign, not by this list
        until = ""
        if discount.ends_at:
            until = " " + _("until %(date)s") % {"date": short_date(discount.ends_at, customer)}
        return _("🎟 Your code %(code)s: %(value)s%(until)s — use /buy %(code)s") % {
            "code": discount.code, "value": value, "until": until}
    return _("✨ %(label)s: %(value)s") % {"label": label, "value": value}


def available_discounts(*, customer: Customer, at: datetime | None = None) -> list[str]:
    """What this customer can get now and soon, in the active language."""
    at = at or timezone.now()
    facts = customer_facts(customer)
    local = at.astimezone(customer_zone(customer))
    lines = []
    for discount in selectors.discounts_on_offer(customer=customer, at=at):
        if discount.kind != Kind.BIRTHDAY and not within_customer_limit(discount, facts):
            continue
        line = discount_describe(discount, customer=customer, facts=facts, local=local)
        if line and discount.starts_at > at:
            line += " " + _("(from %(date)s)") % {"date": short_date(discount.starts_at, customer)}
        if line:
            lines.append(line)
    percent = float(settings.DEFAULT_CASHBACK_PERCENT or 0)
    if percent > 0:
        lines.append(_("💸 Cashback: %(percent)s%% of what you pay comes back to your wallet") % {"percent": f"{percent:g}"})
    return lines
