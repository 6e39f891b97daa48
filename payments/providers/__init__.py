"""The online payment providers, one module each, registered by key (payments.apps.ready)."""

from __future__ import annotations

from .base import (
    EXPIRED,
    FAILED,
    HOLD,
    PAID,
    PENDING,
    REFUNDED,
    Asked,
    Confirmation,
    NotSupported,
    Opened,
    Provider,
    ProviderError,
    Unverified,
)

_providers: dict[str, Provider] = {}


def register(provider: Provider) -> None:
    _providers[provider.key] = provider


def get(key: str) -> Provider | None:
    return _providers.get(key)


def all_providers() -> list[Provider]:
    return list(_providers.values())


__all__ = ["EXPIRED", "FAILED", "HOLD", "PAID", "PENDING", "REFUNDED", "Asked", "Confirmation", "NotSupported",
           "Opened", "Provider", "ProviderError", "Unverified", "all_providers", "get", "register"]
