"""Who a scheduled message goes to, resolved when each occurrence (or each time zone of it) is
sent, never when it was scheduled: the audience comes from the shop's registry (the CRM's
segments and the resellers register theirs there; this app imports neither), and a message at
each customer's local time is split by the customers' time zones (an empty or unknown zone is
the shop's TIME_ZONE)."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.core import dates
from vpnbot.shop import audiences

from ..models import ScheduledMessage
from .errors import NotificationError


def audience_check(key: str, params: dict | None) -> dict:
    """The audience's parameters, checked and normalised; NotificationError otherwise."""
    try:
        return audiences.audience_clean(key, params)
    except audiences.AudienceError as exc:
        raise NotificationError(str(exc)) from None


def audience_label(message: ScheduledMessage) -> str:
    return audiences.audience_describe(message.audience, message.audience_params)


def recipients(message: ScheduledMessage):
    """The message's audience now: Customers, without those who blocked the bot."""
    return audiences.audience_queryset(message.audience, message.audience_params or None)


def recipient_count(message: ScheduledMessage) -> int:
    return recipients(message).count()


def zone_of(name: str) -> str:
    """The zone a customer's time_zone means: their own when zoneinfo knows it, else the shop's."""
    return name if name and dates.is_zone(name) else settings.TIME_ZONE


def zones(message: ScheduledMessage) -> dict[str, list[str]]:
    """The time zones of the recipients now: zone -> the stored time_zone values that mean it
    ("" and unknown names mean the shop's TIME_ZONE)."""
    stored = recipients(message).order_by().values_list("time_zone", flat=True).distinct()
    found: dict[str, list[str]] = defaultdict(list)
    for name in stored:
        found[zone_of(name)].append(name)
    return dict(found)


def batch_recipients(message: ScheduledMessage, stored_names: list[str] | None):
    """(pk, telegram_id, language) of the recipients of one batch: everyone (stored_names None),
    or the customers whose time_zone is one of stored_names."""
    qs = recipients(message)
    if stored_names is not None:
        qs = qs.filter(time_zone__in=stored_names)
    return qs.values_list("pk", "telegram_id", "language").order_by("pk")


def describe_or_error(key: str, params: dict | None) -> str:
    if audiences.get_audience(key) is None:
        raise NotificationError(_("Unknown audience %(key)s.") % {"key": key})
    return audiences.audience_describe(key, params)
