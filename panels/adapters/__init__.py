"""Panel adapters, one module per kind: `adapter_for(panel)` gives the one for a panel."""

from __future__ import annotations

from .base import (
    Account,
    AccountExists,
    AccountMissing,
    AccountSpec,
    Adapter,
    PanelAuthError,
    PanelError,
    PanelInfo,
    PanelRefused,
    PanelUnavailable,
    VerifyFailed,
)

__all__ = [
    "Account", "AccountExists", "AccountMissing", "AccountSpec", "Adapter", "PanelAuthError", "PanelError",
    "PanelInfo", "PanelRefused", "PanelUnavailable", "VerifyFailed", "adapter_for", "register",
]

_kinds: dict[str, type[Adapter]] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    """Class decorator: the adapter of panels whose kind is cls.kind (or each of cls.kinds)."""
    for kind in getattr(cls, "kinds", None) or [cls.kind]:
        _kinds[kind] = cls
    return cls


def adapter_for(panel, **kwargs) -> Adapter:
    """A new adapter for the panel (close it, or use it as a context manager)."""
    try:
        cls = _kinds[panel.kind]
    except KeyError:
        raise PanelRefused(f"no adapter for panels of kind {panel.kind!r}") from None
    return cls(panel, **kwargs)


# each module registers its adapter (register() above) when imported
from . import marzban, xui  # noqa: E402,F401
