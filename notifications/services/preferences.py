"""Per-customer settings: types turned off, quiet hours in the customer's time zone, the daily
limit and the spacing between messages; the shop's defaults fill whatever a customer left empty."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from vpnbot.core import bounds

from .. import types
from ..models import NotificationSettings
from .errors import NotificationError

QUIET_PRESETS = {"off": None, "22-8": (dtime(22), dtime(8)), "23-7": (dtime(23), dtime(7)), "0-8": (dtime(0), dtime(8))}
LIMIT_PRESETS = (0, 3, 5, 10)


def _parse_window(value: str) -> tuple[dtime, dtime] | None:
    try:
        start, end = (part.strip() for part in value.split("-", 1))
        start_t, end_t = dtime.fromisoformat(start), dtime.fromisoformat(end)
    except (ValueError, AttributeError):
        return None
    return (start_t, end_t) if start_t != end_t else None


@dataclass
class Preferences:
    disabled: set = field(default_factory=set)
    quiet: tuple[dtime, dtime] | None = None
    daily_limit: int = 0
    min_interval: timedelta = timedelta(0)


def preferences_for(row: NotificationSettings | None) -> Preferences:
    if row is not None and row.quiet_start is not None and row.quiet_end is not None:
        quiet = (row.quiet_start, row.quiet_end) if row.quiet_start != row.quiet_end else None
    else:
        quiet = _parse_window(settings.NOTIFICATION_DEFAULT_QUIET_HOURS or "")
    limit = row.daily_limit if row is not None and row.daily_limit is not None else settings.NOTIFICATION_DEFAULT_DAILY_LIMIT
    minutes = (row.min_interval_minutes if row is not None and row.min_interval_minutes is not None
               else settings.NOTIFICATION_DEFAULT_MIN_INTERVAL_MINUTES)
    return Preferences(disabled=set(row.disabled_types or []) if row else set(), quiet=quiet,
                       daily_limit=int(limit or 0), min_interval=timedelta(minutes=int(minutes or 0)))


def quiet_until(now: datetime, tz_name: str, window: tuple[dtime, dtime] | None) -> datetime | None:
    """When `now` falls in the quiet window (local time), the window's end; else None."""
    if not window:
        return None
    tz = zoneinfo.ZoneInfo(tz_name)
    local = now.astimezone(tz)
    start, end = window
    t = local.time()
    if start < end:
        if start <= t < end:
            return datetime.combine(local.date(), end, tzinfo=tz)
        return None
    if t >= start:
        return datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    if t < end:
        return datetime.combine(local.date(), end, tzinfo=tz)
    return None


def local_day_start(now: datetime, tz_name: str) -> datetime:
    tz = zoneinfo.ZoneInfo(tz_name)
    return datetime.combine(now.astimezone(tz).date(), dtime(0), tzinfo=tz)


def settings_get(*, customer) -> NotificationSettings:
    """The customer's settings row, made on first use. Two workers may make it at once (a
    double tap): the loser's INSERT fails on the unique customer and it reads the winner's
    row with a locking read, which (unlike a plain SELECT, and unlike get_or_create's retry)
    sees a row committed after a MariaDB REPEATABLE READ snapshot began."""
    row = NotificationSettings.objects.filter(customer=customer).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return NotificationSettings.objects.create(customer=customer)
    except IntegrityError:
        pass
    with transaction.atomic():
        return NotificationSettings.objects.select_for_update().get(customer=customer)


def settings_toggle_type(*, customer, type: str) -> bool:  # noqa: A002
    """Switch an optional type on or off; returns True when it is now on."""
    if type not in types.OPTIONAL:
        raise NotificationError(_("This kind of notification cannot be turned off."))
    with transaction.atomic():
        settings_get(customer=customer)
        row = NotificationSettings.objects.select_for_update().get(customer=customer)
        disabled = set(row.disabled_types or [])
        disabled.symmetric_difference_update({type})
        row.disabled_types = sorted(disabled)
        row.save(update_fields=["disabled_types", "updated_at"])
    return type not in disabled


def settings_set_types(*, customer, enabled: dict[str, bool]) -> set[str]:
    """Switch several optional types on (True) or off (False) at once, all or none; returns
    the types now off."""
    for type_ in enabled:
        if type_ not in types.ALL:
            raise NotificationError(_("Unknown kind of notification: %(type)s.") % {"type": str(type_)[:40]})
        if type_ not in types.OPTIONAL:
            raise NotificationError(_("This kind of notification cannot be turned off."))
    with transaction.atomic():
        settings_get(customer=customer)
        row = NotificationSettings.objects.select_for_update().get(customer=customer)
        disabled = set(row.disabled_types or [])
        disabled.difference_update(t for t, on in enabled.items() if on)
        disabled.update(t for t, on in enabled.items() if not on)
        if sorted(disabled) != sorted(row.disabled_types or []):
            row.disabled_types = sorted(disabled)
            row.save(update_fields=["disabled_types", "updated_at"])
    return disabled


def settings_set_quiet_hours(*, customer, start: dtime | None, end: dtime | None) -> NotificationSettings:
    row = settings_get(customer=customer)
    if (start is None) != (end is None):
        raise NotificationError(_("Quiet hours need both a start and an end."))
    row.quiet_start, row.quiet_end = (start, end) if start is not None else (dtime(0), dtime(0))
    row.save(update_fields=["quiet_start", "quiet_end", "updated_at"])
    return row


def settings_set_daily_limit(*, customer, limit: int) -> NotificationSettings:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= bounds.MAX_DAILY_MESSAGES:
        raise NotificationError(_("The daily limit must be a number from 0 (no limit) to 100."))
    row = settings_get(customer=customer)
    row.daily_limit = limit
    row.save(update_fields=["daily_limit", "updated_at"])
    return row
