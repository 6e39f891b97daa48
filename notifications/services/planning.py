"""Deciding each claimed notification: send it now, defer it (quiet hours, daily limit,
spacing) or finish it unsent (blocked customer, cancelled broadcast, type turned off, renewed)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from vpnbot.core import dates
from vpnbot.shop.models import Subscription

from .. import types
from ..models import Broadcast, Notification, NotificationSettings
from .preferences import local_day_start, preferences_for, quiet_until

Status = Notification.Status


def _recent_sent(customer_ids: list[int], since: datetime, *, exclude: list[int] = ()) -> dict[int, list[datetime]]:
    """Per customer, when the messages that count against the daily limit and spacing went
    out: those sent, and those another worker decided to send and is sending now (pending,
    still claimed, sent_at set at the decision; see delivery._process_batch)."""
    found: dict[int, list[datetime]] = defaultdict(list)
    now = timezone.now()
    rows = (Notification.objects.filter(customer_id__in=customer_ids, sent_at__gte=since, transactional=False, urgent=False)
            .filter(Q(status=Status.SENT) | Q(status=Status.PENDING, claimed_until__gt=now))
            .exclude(pk__in=list(exclude))
            .values_list("customer_id", "sent_at"))
    for customer_id, sent_at in rows:
        found[customer_id].append(sent_at)
    return found


def plan(rows: list[Notification], now: datetime):
    """Decide each claimed row: send, defer (until, reason) or finish (status, reason)."""
    customer_ids = {n.customer_id for n in rows if n.customer_id}
    prefs = {row.customer_id: row for row in NotificationSettings.objects.filter(customer_id__in=customer_ids)}
    recent = _recent_sent(list(customer_ids), now - timedelta(days=1, hours=1), exclude=[n.pk for n in rows])
    extra: dict[int, list[datetime]] = defaultdict(list)
    bypass_urgent = settings.NOTIFICATION_URGENT_BYPASS
    decisions = []
    for n in rows:
        customer = n.customer
        if customer is not None and customer.blocked_at:
            decisions.append((n, "finish", Status.BLOCKED, "customer blocked the bot"))
            continue
        if n.broadcast_id and n.broadcast and n.broadcast.status == Broadcast.Status.CANCELLED:
            decisions.append((n, "finish", Status.CANCELLED, "broadcast cancelled"))
            continue
        if n.transactional or customer is None:
            decisions.append((n, "send", None, ""))
            continue
        if n.type in types.AUTOMATIC and not settings.ENABLE_AUTO_NOTIFICATIONS:
            decisions.append((n, "finish", Status.CANCELLED, "automatic notifications are off"))
            continue
        p = preferences_for(prefs.get(n.customer_id))
        if n.type in p.disabled:
            decisions.append((n, "finish", Status.CANCELLED, "turned off by the customer"))
            continue
        if n.type == types.SERVICE_EXPIRING and not _still_expiring(n, now):
            decisions.append((n, "finish", Status.CANCELLED, "renewed or no longer active"))
            continue
        if not (n.urgent and bypass_urgent):
            tz_name = customer.tz_name if dates.is_zone(customer.tz_name) else settings.TIME_ZONE  # a mistyped zone
            until = quiet_until(now, tz_name, p.quiet)
            if until is not None:
                decisions.append((n, "defer", until, "quiet_hours"))
                continue
            sent_times = recent.get(n.customer_id, []) + extra[n.customer_id]
            if p.daily_limit:
                day_start = local_day_start(now, tz_name)
                if sum(1 for t in sent_times if t >= day_start) >= p.daily_limit:
                    next_day = datetime.combine(day_start.date() + timedelta(days=1), dtime(0), tzinfo=day_start.tzinfo)
                    decisions.append((n, "defer", next_day, "daily_limit"))
                    continue
            if p.min_interval and sent_times:
                earliest = max(sent_times) + p.min_interval
                if earliest > now:
                    decisions.append((n, "defer", earliest, "spacing"))
                    continue
            extra[n.customer_id].append(now)
        decisions.append((n, "send", None, ""))
    return decisions


def _still_expiring(n: Notification, now: datetime) -> bool:
    if not n.object_id:
        return True
    sub = Subscription.objects.filter(pk=n.object_id).only("status", "expires_at").first()
    if sub is None or sub.status != Subscription.Status.ACTIVE or sub.expires_at <= now:
        return False
    return not Subscription.objects.filter(renewed_from_id=n.object_id).exists()


def limited_customers(rows: list[Notification]) -> list[int]:
    """The customers whose rows in this batch go through the daily limit and spacing check;
    each gets a settings row (empty: the shop's defaults) to lock while deciding."""
    bypass_urgent = settings.NOTIFICATION_URGENT_BYPASS
    ids = sorted({n.customer_id for n in rows if n.customer_id and not n.transactional and not (n.urgent and bypass_urgent)})
    if ids:
        have = set(NotificationSettings.objects.filter(customer_id__in=ids).values_list("customer_id", flat=True))
        missing = [NotificationSettings(customer_id=pk) for pk in ids if pk not in have]
        if missing:
            NotificationSettings.objects.bulk_create(missing, ignore_conflicts=True)
    return ids
