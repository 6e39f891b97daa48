"""Who a message to many customers can go to (a broadcast, a scheduled message): a registry
the shop keeps, so the apps that send (notifications) and those that define groups of
customers (the CRM's segments) never import each other. queryset_fn() returns Customers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import Customer


@dataclass(frozen=True)
class Audience:
    key: str
    label: str
    queryset_fn: Callable


_audiences: dict[str, Audience] = {}


def register_audience(key: str, label, queryset_fn: Callable) -> None:
    key = str(key)
    if not key or len(key) > 40 or ":" in key:
        raise ValueError("an audience key is 1-40 characters without ':'")
    _audiences[key] = Audience(key, label, queryset_fn)


def get_audience(key: str) -> Audience | None:
    return _audiences.get(key)


def audiences() -> list[Audience]:
    return list(_audiences.values())


def audience_queryset(key: str):
    """The audience's customers, minus those who blocked the bot."""
    audience = _audiences.get(key)
    if audience is None:
        raise KeyError(key)
    return audience.queryset_fn().filter(blocked_at__isnull=True)


def _everyone():
    return Customer.objects.filter(blocked_at__isnull=True)


register_audience("all", _("Everyone"), _everyone)
