"""Read-only queries: a customer's recent notifications, delivery statistics, the chart."""

from __future__ import annotations

import io
import zoneinfo
from datetime import datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from .models import Notification

STAT_FIELDS = ("sent", "failed", "deferred", "blocked")


def recent_for(*, customer, limit: int = 10) -> list[Notification]:
    return list(Notification.objects.filter(customer=customer).exclude(type="admin_alert")
                .exclude(status="cancelled").order_by("-id")[:limit])


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
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    days: list[str] = []
    per_day: dict[str, dict[str, int]] = {}
    for row in data["rows"]:
        if row["day"] not in per_day:
            days.append(row["day"])
            per_day[row["day"]] = dict.fromkeys(STAT_FIELDS, 0)
        for f in STAT_FIELDS:
            per_day[row["day"]][f] += row[f]
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    bottom = [0] * len(days)
    colours = {"sent": "#2e7d32", "failed": "#c62828", "blocked": "#6d4c41", "deferred": "#f9a825"}
    for f in STAT_FIELDS:
        values = [per_day[d][f] for d in days]
        ax.bar([d[5:] for d in days], values, bottom=bottom, label=f, color=colours[f])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title("Notifications per day")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
