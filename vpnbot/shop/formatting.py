"""How the shop shows things to people: amounts, dates, days left, configs, plans and quotes.
Pure presentation: no queries, no changes; services and handlers both use it."""

from __future__ import annotations

import html
import io
import zoneinfo
from datetime import datetime

import jdatetime
import segno
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Customer, Plan, Subscription

# A config travels inside <code> in one Telegram message (4096 characters, with the words around
# it); measured as sent, HTML-escaped, so the sender never has to split it (a split inside <code>
# would be refused by Telegram).
MAX_CONFIG_LENGTH = 3500


def money(amount: int) -> str:
    currency = _("Toman") if settings.CURRENCY == "Toman" else settings.CURRENCY
    return f"{amount:,} {currency}"


def format_date(value: datetime, customer: Customer | None = None) -> str:
    """A date as the customer reads it: Jalali in Persian, Gregorian in English."""
    tz = zoneinfo.ZoneInfo(customer.tz_name if customer else settings.TIME_ZONE)
    local = value.astimezone(tz)
    language = customer.effective_language if customer else settings.LANGUAGE_CODE
    if language == "fa":
        return jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def days_left(subscription: Subscription, now: datetime | None = None) -> int:
    return days_until(subscription.expires_at, now)


def days_until(value: datetime, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return max(0, (value - now).days)


def config_html(config: str) -> str:
    """The config as it goes inside <code>...</code> (only & < > need escaping there)."""
    return html.escape(config, quote=False)


def config_fits_message(config: str) -> bool:
    """Whether the config, as sent, fits in one message (see MAX_CONFIG_LENGTH)."""
    return len(config_html(config)) <= MAX_CONFIG_LENGTH


def plan_line(plan: Plan) -> str:
    """One plan in a list: name, days, traffic, devices and price."""
    traffic = _("unlimited") if plan.traffic_gb == 0 else _("%(gb)s GB") % {"gb": plan.traffic_gb}
    return _("%(name)s — %(days)s days, %(traffic)s, %(devices)s device(s): %(price)s") % {
        "name": plan.name, "days": plan.duration_days, "traffic": traffic, "devices": plan.device_limit,
        "price": money(plan.price_amount)}


def quote_text(plan: Plan, quote) -> str:
    """A price quote as the customer confirms it: list price, each discount, total, cashback."""
    lines = [_("🧾 %(plan)s × %(n)s") % {"plan": plan.name, "n": quote.quantity},
             _("List price: %(amount)s") % {"amount": money(quote.list_amount)}]
    for d in quote.discounts:
        lines.append(_("➖ %(label)s: −%(amount)s") % {"label": d.label, "amount": money(d.amount)})
    lines.append(_("Total: %(amount)s") % {"amount": money(quote.total_amount)})
    if quote.cashback_amount:
        lines.append(_("Cashback to your wallet after payment: %(amount)s") % {"amount": money(quote.cashback_amount)})
    return "\n".join(lines)


# --- a service's account: traffic and its link ----------------------------------------------------

GB = 1024**3
BAR_CELLS = 10


def gigabytes(size_bytes: int) -> str:
    """Bytes as GB with one decimal, without a trailing .0 (4.8, 10)."""
    return f"{size_bytes / GB:,.1f}".removesuffix(".0")


def usage_line(used_bytes: int, limit_bytes: int) -> str:
    """▰▰▰▰▰▱▱▱▱▱ 4.8 / 10 GB (48%), or the traffic used of an unlimited service (limit 0)."""
    used_bytes = max(used_bytes, 0)
    if not limit_bytes:
        return _("♾ Unlimited traffic, %(used)s GB used") % {"used": gigabytes(used_bytes)}
    percent = (used_bytes * 200 + limit_bytes) // (2 * limit_bytes)  # rounded, in integers
    filled = min(BAR_CELLS, (used_bytes * 2 * BAR_CELLS + limit_bytes) // (2 * limit_bytes))
    bar = "▰" * filled + "▱" * (BAR_CELLS - filled)
    return _("%(bar)s %(used)s / %(limit)s GB (%(percent)s%%)") % {
        "bar": bar, "used": gigabytes(used_bytes), "limit": gigabytes(limit_bytes), "percent": percent}


def qr_png(text: str) -> bytes:
    """A QR code of the text (a subscription link) as a PNG image, black on white."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=10, border=4)
    return out.getvalue()
