"""Multi-step dialogs whose state lives in the database (ChatState)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from .models import ChatState

DEFAULT_TTL = timedelta(minutes=30)
_steps: dict[str, Callable] = {}
_fallbacks: list[Callable] = []


def dialog_start(*, user_id: int, name: str, data: dict | None = None, ttl: timedelta = DEFAULT_TTL) -> None:
    ChatState.objects.update_or_create(
        user_id=user_id, defaults={"name": name, "data": data or {}, "expires_at": timezone.now() + ttl}
    )


def dialog_get(*, user_id: int) -> tuple[str, dict] | None:
    state = ChatState.objects.filter(user_id=user_id, expires_at__gt=timezone.now()).first()
    return (state.name, state.data) if state else None


def dialog_clear(*, user_id: int) -> bool:
    return ChatState.objects.filter(user_id=user_id).delete()[0] > 0


def step(name: str):
    """Register the function that handles a message while a user is in dialog `name`.
    It is called as fn(ctx, data)."""

    def decorator(fn):
        _steps[name] = fn
        return fn

    return decorator


def fallback(fn):
    """Register a function fn(ctx) -> bool for messages outside any dialog (e.g. menu buttons)."""
    _fallbacks.append(fn)
    return fn


def get_step(name: str) -> Callable | None:
    return _steps.get(name)


def fallbacks() -> list[Callable]:
    return list(_fallbacks)
