"""Templates: filling a body's {placeholders}, the text a notification is sent with, the
admin's preview and the shipped defaults installed as editable rows."""

from __future__ import annotations

import html

from django.conf import settings
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from vpnbot.shop.formatting import format_date, money
from vpnbot.shop.models import Subscription

from .. import types
from ..models import Notification, NotificationTemplate


def _template_body(type_: str, language: str) -> str | None:
    row = NotificationTemplate.objects.filter(type=type_, language=language, is_active=True).only("body").first()
    return row.body if row else None


class _Values(dict):
    def __missing__(self, key):
        return ""


def _display(key: str, value, customer, language: str, escape: bool) -> str:
    with translation.override(language):
        if key in types.MONEY_KEYS and isinstance(value, int):
            return money(value)
        if key in types.DATE_KEYS and isinstance(value, str) and parse_datetime(value):
            return format_date(parse_datetime(value), customer)
    text = str(value)
    return html.escape(text, quote=False) if escape else text


def template_render(body: str, context: dict, *, customer=None, language: str = "", escape: bool = True,
                    raw: frozenset = frozenset()) -> str:
    """Fill a template's {placeholders}; unknown or missing ones become empty. The values are
    HTML-escaped with escape, except those named in raw (HTML already)."""
    language = language or (customer.effective_language if customer else settings.LANGUAGE_CODE)
    values = _Values({k: _display(k, v, customer, language, escape and k not in raw) for k, v in context.items()})
    try:
        return body.format_map(values)
    except (ValueError, KeyError, IndexError, AttributeError):
        return body


def template_preview(*, type: str, body: str, language: str = "en") -> str:  # noqa: A002
    types.validate_template(type, body)
    return template_render(body, types.sample_context(type), language=language)


def template_install_defaults() -> int:
    """Create an editable template row per type and language from the shipped defaults."""
    created = 0
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for type_ in types.ALL:
                _row, made = NotificationTemplate.objects.get_or_create(
                    type=type_, language=language, defaults={"body": str(types.DEFAULTS[type_])})
                created += made
    return created


def _context_for(n: Notification, customer) -> dict:
    context = dict(n.context or {})
    if customer is not None:
        context.setdefault("first_name", customer.first_name)
        context.setdefault("username", customer.username)
    if n.text:
        context.setdefault("text", n.text)
    if n.type in (types.SERVICE_EXPIRING, types.SERVICE_EXPIRED) and n.object_id:
        sub = Subscription.objects.filter(pk=n.object_id).select_related("plan").first()
        if sub is not None:
            context.setdefault("plan", sub.plan.name)
            context.setdefault("expires_at", sub.expires_at.isoformat())
            seconds = (sub.expires_at - timezone.now()).total_seconds()
            context.setdefault("days_left", max(0, -int(-seconds // 86400)))
    return context


def notification_render(n: Notification, customer=None) -> str:
    """The text to send: the type's template (if every placeholder it needs is known), else
    the text given at enqueue time, else the shipped default."""
    customer = customer if customer is not None else n.customer
    language = n.language or (customer.effective_language if customer else settings.LANGUAGE_CODE)
    context = _context_for(n, customer)
    escape = bool(n.parse_mode)
    # a broadcast's text in HTML (a scheduled message's) is the operator's markup, checked when written
    raw = frozenset({"text"}) if n.type == types.BROADCAST else frozenset()
    body = _template_body(n.type, language)
    if body is not None and set(types.placeholders_in(body)) <= set(context):
        return template_render(body, context, customer=customer, language=language, escape=escape, raw=raw)
    if n.text:
        return n.text
    with translation.override(language):
        default = str(types.DEFAULTS.get(n.type, "{text}"))
    return template_render(default, context, customer=customer, language=language, escape=escape)
