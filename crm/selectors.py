"""Read-only CRM queries shared by the bot, the admin and the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from .models import CustomerJourney, RecomputeRun, Segment, UserProfile


def segment_counts() -> dict[str, int]:
    counts = dict(UserProfile.objects.values_list("segment").annotate(n=Count("id")))
    return {key: int(counts.get(key, 0)) for key in Segment.values}


def segment_counts_before(*, days: int = 7, now: datetime | None = None) -> dict[str, int] | None:
    """Segment sizes found by the last run at least `days` ago (None if there was none)."""
    now = now or timezone.now()
    run = (RecomputeRun.objects.filter(as_of__lte=now - timedelta(days=days), finished_at__isnull=False)
           .order_by("-as_of").first())
    return {key: int(run.segment_counts.get(key, 0)) for key in Segment.values} if run else None


def revenue(*, days: int, now: datetime | None = None) -> int:
    from vpnbot.shop.models import Order

    now = now or timezone.now()
    total = Order.objects.filter(status__in=[Order.Status.PAID, Order.Status.REFUNDED], paid_at__gt=now - timedelta(days=days),
                                 paid_at__lte=now).aggregate(s=Sum(F("paid_amount") - F("refunded_amount")))["s"]
    return int(total or 0)


def funnel() -> dict[str, int]:
    """Customers who reached each step: joined, bought once, bought again, loyal."""
    from vpnbot.shop.models import Customer

    agg = UserProfile.objects.aggregate(
        buyers=Count("id", filter=Q(frequency__gte=1)),
        repeat=Count("id", filter=Q(frequency__gte=2)),
        loyal=Count("id", filter=Q(frequency__gte=settings.CRM_LOYAL_MIN_ORDERS)),
        churned=Count("id", filter=Q(segment=Segment.CHURNED)),
    )
    return {"visitors": Customer.objects.count(), "first_purchase": agg["buyers"], "repeat": agg["repeat"],
            "loyal": agg["loyal"], "churned": agg["churned"]}


def churn_rate_bp() -> int:
    """Churned customers among those who ever bought, in basis points."""
    data = funnel()
    buyers = data["first_purchase"] + UserProfile.objects.filter(frequency=0, segment=Segment.CHURNED).count()
    return data["churned"] * 10000 // buyers if buyers else 0


def _at_risk():
    return UserProfile.objects.filter(segment=Segment.AT_RISK, customer__blocked_at__isnull=True)


def at_risk_count() -> int:
    return _at_risk().count()


def at_risk_page(*, page: int, size: int = 8):
    """One page (from 0) of the at-risk customers, riskiest first, and how many there are."""
    qs = _at_risk().select_related("customer").order_by("-churn_risk", "active_until", "customer_id")
    total = qs.count()
    page = max(page, 0)
    return list(qs[page * size:(page + 1) * size]), total


def journey(*, customer, limit: int = 20) -> list[CustomerJourney]:
    return list(CustomerJourney.objects.filter(customer=customer).order_by("-at", "-id")[:limit])[::-1]


def last_run() -> RecomputeRun | None:
    return RecomputeRun.objects.filter(finished_at__isnull=False).order_by("-id").first()
