"""A settable clock for the shop's services, so a history can be made in the past through the
services themselves: within `clock()`, `timezone.now()` and every model field defaulting to it
answer the time set with `at(...)`. (The services read the time only through timezone.now.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.apps import apps
from django.utils import timezone


class Clock:
    def __init__(self, real):
        self._real = real
        self.time: datetime | None = None

    def now(self) -> datetime:
        return self.time if self.time is not None else self._real()

    def at(self, when: datetime) -> None:
        self.time = when


@contextmanager
def clock() -> Iterator[Clock]:
    real = timezone.now
    settable = Clock(real)
    fields = [f for model in apps.get_models() for f in model._meta.concrete_fields if f.default is real]
    timezone.now = settable.now
    _set_default(fields, settable.now)
    try:
        yield settable
    finally:
        timezone.now = real
        _set_default(fields, real)


def _set_default(fields, now) -> None:
    for field in fields:
        field.default = now
        field.__dict__.pop("_get_default", None)  # Django caches the default's callable on the field
