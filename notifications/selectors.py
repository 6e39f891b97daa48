"""Read-only queries: a customer's recent notifications, the outbox list, delivery statistics and
their chart, what became of queued messages, a broadcast, its audience size and its progress,
scheduled messages and what was sent per occurrence."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone

from vpnbot.core.charts import chart_png
from vpnbot.shop import audiences

from .models import Broadcast, Notification, ScheduledBatch, ScheduledMessage, ScheduledOccurrence

Status = Notification.Status
STAT_FIELDS = ("sent", "failed", "deferred", "blocked")
# Notification status -> the message port's outcome names.
OUTCOME = {Status.PENDING: "pending", Status.SENT: "sent", Status.FAILED: "failed", Status.BLOCKED: "blocked",
           Status.CANCELLED: "skipped"}


def recent_for(*, customer, limit: int = 10) -> list[Notification]:
    return list(Notification.objects.filter(customer=customer).exclude(type="admin_alert")
                .exclude(status="cancelled").order_by("-id")[:limit])


def notification_list(*, status: str = "", type: str = "", customer: str = ""):  # noqa: A002
    """The outbox, newest first, filtered by status, type and customer id (ignored unless digits)."""
    qs = Notification.objects.all().order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if type:
        qs = qs.filter(type=type)
    if customer.isascii() and customer.isdigit() and len(customer) <= 18:  # "²".isdigit(); no id has 19 digits
        qs = qs.filter(customer_id=int(customer))
    return qs


def notification_outcomes(*, message_ids) -> dict[str, int]:
    """How the queued messages fared, counted by the message port's outcome names."""
    counts: dict[str, int] = {}
    rows = Notification.objects.filter(pk__in=message_ids).values_list("status").annotate(n=Count("id"))
    for status, n in rows:
        key = OUTCOME.get(status, "pending")
        counts[key] = counts.get(key, 0) + n
    return counts


def broadcast_get(*, broadcast_id) -> Broadcast | None:
    """The broadcast with this id (an int or its text), None when there is none."""
    text = str(broadcast_id)
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    return Broadcast.objects.filter(pk=int(text)).first()


def broadcast_audience_count(*, broadcast: Broadcast) -> int:
    return audiences.audience_queryset(broadcast.audience).count()


@dataclass
class Progress:
    total: int
    sent: int
    failed: int
    blocked: int
    cancelled: int
    remaining: int
    rate: float
    eta_seconds: int | None


def broadcast_progress(*, broadcast: Broadcast) -> Progress:
    """Counts by status, the send rate since the start and the time left at that rate."""
    counts = dict(Notification.objects.filter(broadcast=broadcast).values_list("status").annotate(n=Count("id")))
    sent = counts.get(Status.SENT, 0)
    remaining = counts.get(Status.PENDING, 0)
    elapsed = (timezone.now() - broadcast.started_at).total_seconds() if broadcast.started_at else 0
    rate = sent / elapsed if elapsed > 0 else 0.0
    eta = int(remaining / rate) if rate > 0 and remaining else (0 if not remaining else None)
    return Progress(total=broadcast.total, sent=sent, failed=counts.get(Status.FAILED, 0),
                    blocked=counts.get(Status.BLOCKED, 0), cancelled=counts.get(Status.CANCELLED, 0),
                    remaining=remaining, rate=rate, eta_seconds=eta)


def stats(*, days: int = 7, now: datetime | None = None) -> dict:
    """Per local day (TIME_ZONE) and type: sent, failed, deferred, blocked; plus totals and
    the delivery rate (sent / (sent + failed + blocked))."""
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    today = now.astimezone(tz).date()
    rows = []
    totals = dict.fromkeys(STAT_FIELDS, 0)
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        start = datetime.combine(day, dtime(0), tzinfo=tz)
        end = start + timedelta(days=1)
        grouped = (Notification.objects.filter(created_at__gte=start, created_at__lt=end).values("type")
                   .annotate(sent=Count("id", filter=Q(status="sent")), failed=Count("id", filter=Q(status="failed")),
                             blocked=Count("id", filter=Q(status="blocked")),
                             deferred=Count("id", filter=Q(deferred_count__gt=0)))
                   .order_by("type"))
        for item in grouped:
            if not any(item[f] for f in STAT_FIELDS):
                continue
            rows.append({"day": day.isoformat(), **item})
            for f in STAT_FIELDS:
                totals[f] += item[f]
    attempted = totals["sent"] + totals["failed"] + totals["blocked"]
    return {"days": days, "rows": rows, "totals": totals,
            "delivery_rate": round(totals["sent"] / attempted, 4) if attempted else None,
            "pending": Notification.objects.filter(status="pending").count()}


def stats_chart(data: dict) -> bytes:
    """A PNG bar chart of the stats per day."""
    days: list[str] = []
    per_day: dict[str, dict[str, int]] = {}
    for row in data["rows"]:
        if row["day"] not in per_day:
            days.append(row["day"])
            per_day[row["day"]] = dict.fromkeys(STAT_FIELDS, 0)
        for f in STAT_FIELDS:
            per_day[row["day"]][f] += row[f]
    colours = {"sent": "#2e7d32", "failed": "#c62828", "blocked": "#6d4c41", "deferred": "#f9a825"}

    def draw(ax):
        bottom = [0] * len(days)
        for f in STAT_FIELDS:
            values = [per_day[d][f] for d in days]
            ax.bar([d[5:] for d in days], values, bottom=bottom, label=f, color=colours[f])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.legend(loc="upper left", fontsize=8)

    return chart_png(draw, title="Notifications per day")


# --- scheduled messages ------------------------------------------------------------------------------------

def scheduled_get(*, message_id) -> ScheduledMessage | None:
    """The scheduled message with this id (an int or its text), None when there is none."""
    text = str(message_id)
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    return ScheduledMessage.objects.filter(pk=int(text)).first()


def scheduled_list(*, status: str = ""):
    """Scheduled messages, the next due first (those with nothing ahead, newest first, after)."""
    qs = ScheduledMessage.objects.all()
    if status:
        qs = qs.filter(status=status)
    return qs.order_by(F("next_at").asc(nulls_last=True), "-id")


def scheduled_upcoming_list(*, limit: int = 20):
    """The messages still to be sent (scheduled or started), the next due first."""
    return list(ScheduledMessage.objects.filter(status__in=[ScheduledMessage.Status.SCHEDULED,
                                                             ScheduledMessage.Status.RUNNING])
                .order_by(F("next_at").asc(nulls_last=True), "id")[:limit])


@dataclass
class OccurrenceReport:
    occurrence: ScheduledOccurrence
    batches: list[ScheduledBatch]
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0
    pending: int = 0


def scheduled_occurrences(*, message: ScheduledMessage, limit: int = 50) -> list[OccurrenceReport]:
    """What was sent per occurrence, the latest first: its batches (time zones) and how its
    recipients fared (sent, failed, blocked, cancelled, still pending)."""
    occurrences = list(message.occurrences.select_related("broadcast").order_by("-at", "-id")[:limit])
    batches: dict[int, list[ScheduledBatch]] = {o.pk: [] for o in occurrences}
    for batch in ScheduledBatch.objects.filter(occurrence__in=occurrences).order_by("due_at", "zone"):
        batches[batch.occurrence_id].append(batch)
    counts: dict[int, dict[str, int]] = {}
    broadcast_ids = [o.broadcast_id for o in occurrences if o.broadcast_id]
    rows = (Notification.objects.filter(broadcast_id__in=broadcast_ids).values_list("broadcast_id", "status")
            .annotate(n=Count("id")))
    for broadcast_id, status, n in rows:
        counts.setdefault(broadcast_id, {})[status] = n
    reports = []
    for o in occurrences:
        c = counts.get(o.broadcast_id, {})
        reports.append(OccurrenceReport(o, batches[o.pk], sent=c.get(Status.SENT, 0), failed=c.get(Status.FAILED, 0),
                                        blocked=c.get(Status.BLOCKED, 0), cancelled=c.get(Status.CANCELLED, 0),
                                        pending=c.get(Status.PENDING, 0)))
    return reports
