"""Who a message to many customers can go to (a broadcast, a scheduled message): a registry
the shop keeps, so the apps that send (notifications) and those that define groups of
customers (the CRM's segments, the resellers) never import each other. queryset_fn(**params)
returns Customers; an audience may take parameters (a plan, a number of days, a language, a
list of Telegram ids), each described by a Param so every front door (the API, the admin, the
bot) can ask for it and check it the same way.

The shop registers its own: everyone, active subscribers, holders of a plan, subscriptions
expiring within N days, the customers of one language and a list of Telegram ids (a CSV)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.core.numbers import latin_digits

from .models import Customer, Plan, Subscription

MAX_IDS = 20_000  # Telegram ids in one list (a CSV upload): one query's parameters on every database
MAX_EXPIRY_DAYS = 365


class AudienceError(ValueError):
    """An audience or a parameter that cannot be used; the message is meant for the operator."""


@dataclass(frozen=True)
class Param:
    """One parameter of an audience. kind: "int" (low..high), "choice" (one of choices(), a
    list of (value, label)) or "ids" (Telegram ids: a list, or CSV text)."""

    name: str
    label: object
    kind: str
    low: int = 1
    high: int = 10**6
    choices: Callable[[], list[tuple[str, str]]] | None = None


@dataclass(frozen=True)
class Audience:
    key: str
    label: object
    queryset_fn: Callable
    params: tuple[Param, ...] = field(default=())

    def describe(self, params: dict | None = None) -> str:
        """The label with its parameters, as an operator reads it."""
        label = str(self.label)
        parts = []
        for p in self.params:
            value = (params or {}).get(p.name)
            if value is None:
                continue
            if p.kind == "ids":
                parts.append(_("%(n)s Telegram ids") % {"n": len(value)})
            elif p.kind == "choice":
                parts.append(str(dict(p.choices()).get(str(value), value)))
            else:
                parts.append(f"{p.label}: {value}")
        return f"{label} ({', '.join(parts)})" if parts else label


_audiences: dict[str, Audience] = {}


def register_audience(key: str, label, queryset_fn: Callable, *, params=()) -> None:
    key = str(key)
    if not key or len(key) > 40 or ":" in key:
        raise ValueError("an audience key is 1-40 characters without ':'")
    _audiences[key] = Audience(key, label, queryset_fn, tuple(params))


def get_audience(key: str) -> Audience | None:
    return _audiences.get(key)


def audiences(*, with_params: bool = True) -> list[Audience]:
    """Every registered audience; with_params=False: only those that take no parameter."""
    return [a for a in _audiences.values() if with_params or not a.params]


def parse_ids(value) -> list[int]:
    """Telegram ids from a list or from CSV text (commas, semicolons, spaces or lines; Persian
    digits read; a header or any other word is ignored), without repeats, in their order."""
    if isinstance(value, str):
        items = re.split(r"[\s,;]+", latin_digits(value))
    elif isinstance(value, list | tuple):
        items = [latin_digits(str(v)).strip() for v in value]
    else:
        raise AudienceError(_("Give the Telegram ids as a list or as CSV text."))
    seen: dict[int, None] = {}
    for item in items:
        if item.isascii() and item.isdigit() and len(item) <= 15 and int(item) > 0:
            seen.setdefault(int(item), None)
    if not seen:
        raise AudienceError(_("No Telegram id found: give whole numbers, one per line or separated by commas."))
    if len(seen) > MAX_IDS:
        raise AudienceError(_("At most %(n)s Telegram ids in one list.") % {"n": MAX_IDS})
    return list(seen)


def _clean_param(p: Param, value):
    if p.kind == "ids":
        return parse_ids(value)
    if p.kind == "int":
        text = latin_digits(str(value)).strip()
        if isinstance(value, bool) or not (text.isascii() and text.isdigit() and len(text) <= 9) \
                or not p.low <= int(text) <= p.high:
            raise AudienceError(_("%(name)s: a whole number from %(low)s to %(high)s.") % {
                "name": p.label, "low": p.low, "high": p.high})
        return int(text)
    allowed = dict(p.choices())
    if str(value) not in allowed:
        raise AudienceError(_("%(name)s: one of %(values)s.") % {"name": p.label, "values": ", ".join(allowed)})
    return str(value)


def audience_clean(key: str, params: dict | None = None) -> dict:
    """The audience's parameters checked and normalised (ids parsed, numbers made ints);
    AudienceError for an unknown audience, a missing, unknown or wrong parameter."""
    audience = _audiences.get(str(key))
    if audience is None:
        raise AudienceError(_("Unknown audience %(key)s.") % {"key": key})
    params = dict(params or {})
    known = {p.name for p in audience.params}
    unknown = sorted(set(params) - known)
    if unknown:
        raise AudienceError(_("The audience %(key)s takes no parameter %(names)s.") % {
            "key": key, "names": ", ".join(unknown)})
    clean = {}
    for p in audience.params:
        if params.get(p.name) in (None, "", []):
            raise AudienceError(_("The audience %(key)s needs %(name)s.") % {"key": key, "name": p.label})
        clean[p.name] = _clean_param(p, params[p.name])
    return clean


def audience_queryset(key: str, params: dict | None = None):
    """The audience's customers, minus those who blocked the bot. KeyError for an unknown key,
    AudienceError for parameters that do not fit it."""
    audience = _audiences.get(key)
    if audience is None:
        raise KeyError(key)
    clean = audience_clean(key, params) if audience.params or params else {}
    return audience.queryset_fn(**clean).filter(blocked_at__isnull=True)


def audience_describe(key: str, params: dict | None = None) -> str:
    audience = _audiences.get(key)
    return audience.describe(params) if audience else str(key)


# --- the shop's own audiences ----------------------------------------------------------------------------

def _everyone():
    return Customer.objects.filter(blocked_at__isnull=True)


def _running(now=None):
    """Subscriptions the customer is using now (not a reseller's accounts for their customers)."""
    now = now or timezone.now()
    return Subscription.objects.filter(status=Subscription.Status.ACTIVE, expires_at__gt=now, resold=False)


def active_subscribers():
    return Customer.objects.filter(pk__in=_running().values("customer_id"))


def plan_holders(*, plan: str):
    return Customer.objects.filter(pk__in=_running().filter(plan_id=int(plan)).values("customer_id"))


def expiring_within(*, days: int):
    """A running subscription ends within `days` and was not renewed."""
    now = timezone.now()
    ending = _running(now).filter(expires_at__lte=now + timedelta(days=days), renewals__isnull=True)
    return Customer.objects.filter(pk__in=ending.values("customer_id"))


def speaking(*, language: str):
    """The customers whose language (Customer.effective_language) is `language`: chosen with
    /language, else their Telegram app's, else the shop's default."""
    known = [code for code, _name in settings.LANGUAGES]
    from_telegram = Q()
    for code in known:
        from_telegram |= Q(telegram_language__istartswith=code)
    chosen = Q(language=language)
    by_app = Q(language="", telegram_language__istartswith=language)
    by_default = Q(language="") & ~from_telegram if language == settings.LANGUAGE_CODE else Q(pk__in=[])
    return Customer.objects.filter(chosen | by_app | by_default)


def telegram_ids(*, ids: list[int]):
    return Customer.objects.filter(telegram_id__in=ids)


def _plans() -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in Plan.objects.order_by("sort_order", "id").values_list("pk", "name")]


def _languages() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


register_audience("all", gettext_lazy("Everyone"), _everyone)
register_audience("active", gettext_lazy("Active subscribers"), active_subscribers)
register_audience("plan", gettext_lazy("Holders of a plan"), plan_holders,
                  params=[Param("plan", gettext_lazy("plan"), "choice", choices=_plans)])
register_audience("expiring", gettext_lazy("Subscriptions expiring soon"), expiring_within,
                  params=[Param("days", gettext_lazy("days"), "int", low=1, high=MAX_EXPIRY_DAYS)])
register_audience("language", gettext_lazy("Customers of one language"), speaking,
                  params=[Param("language", gettext_lazy("language"), "choice", choices=_languages)])
register_audience("telegram_ids", gettext_lazy("A list of Telegram ids (CSV)"), telegram_ids,
                  params=[Param("ids", gettext_lazy("Telegram ids"), "ids")])
