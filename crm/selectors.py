"""Read-only CRM queries shared by the bot, the admin and the API: dashboards, profiles,
offers, insights, timelines, at-risk lists and campaign statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from vpnbot.core.charts import chart_png
from vpnbot.shop.models import Customer, Order
from vpnbot.transport import messages

from .models import (
    Campaign,
    CampaignRecipient,
    CustomerJourney,
    PersonalizedOffer,
    RecomputeRun,
    Segment,
    UserActivity,
    UserInsight,
    UserProfile,
)

# --- the dashboard -------------------------------------------------------------------------------

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
    now = now or timezone.now()
    total = Order.objects.filter(status__in=[Order.Status.PAID, Order.Status.REFUNDED], paid_at__gt=now - timedelta(days=days),
                                 paid_at__lte=now).aggregate(s=Sum(F("paid_amount") - F("refunded_amount")))["s"]
    return int(total or 0)


def funnel() -> dict[str, int]:
    """Customers who reached each step: joined, bought once, bought again, loyal."""
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


def last_run() -> RecomputeRun | None:
    return RecomputeRun.objects.filter(finished_at__isnull=False).order_by("-id").first()


def dashboard_chart(counts: dict[str, int]) -> bytes:
    """A bar chart of the segment sizes as PNG bytes."""
    keys = [k for k in Segment.values if counts.get(k)] or list(Segment.values)

    def draw(ax):
        ax.bar([str(k) for k in keys], [counts.get(k, 0) for k in keys], color="#3b82f6")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)

    return chart_png(draw, title="Customers by segment")


def insights_shop(*, now: datetime | None = None, limit: int = 10) -> list[UserInsight]:
    now = now or timezone.now()
    return list(UserInsight.objects.filter(customer__isnull=True, expires_at__gt=now).order_by("-created_at")[:limit])


# --- profiles ------------------------------------------------------------------------------------------

def profiles_list(*, segment: str = "", stage: str = "", min_churn_risk: int | None = None, rfm: str = ""):
    """Profiles, riskiest first, optionally only one segment or stage, a churn risk at least
    this, or exact RFM scores ("555"); a queryset, for the API's pages."""
    qs = UserProfile.objects.select_related("customer").order_by("-churn_risk", "customer_id")
    if segment:
        qs = qs.filter(segment=segment)
    if stage:
        qs = qs.filter(stage=stage)
    if min_churn_risk is not None:
        qs = qs.filter(churn_risk__gte=min_churn_risk)
    if rfm:
        qs = qs.filter(r_score=int(rfm[0]), f_score=int(rfm[1]), m_score=int(rfm[2]))
    return qs


# --- one customer ----------------------------------------------------------------------------------

def customer_get(customer_id: int) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def profile_for(customer) -> UserProfile | None:
    return UserProfile.objects.filter(customer=customer).select_related("favourite_plan").first()


def offers_for(*, customer, now: datetime | None = None) -> list[PersonalizedOffer]:
    """What /my_offers shows: active, unexpired, unused."""
    now = now or timezone.now()
    return list(PersonalizedOffer.objects.filter(customer=customer, status=PersonalizedOffer.Status.ACTIVE,
                                                 valid_until__gt=now).select_related("plan").order_by("valid_until"))


def insights_for(*, customer, now: datetime | None = None, limit: int = 10) -> list[UserInsight]:
    now = now or timezone.now()
    return list(UserInsight.objects.filter(customer=customer, expires_at__gt=now).order_by("-created_at", "-id")[:limit])


def activities_of(customer_id: int):
    """A customer's activities, newest first (a queryset, for the API's pages); none for an id no
    database column holds (SQLite raises OverflowError on a 30-digit one)."""
    if not 0 < customer_id < 2**63:
        return UserActivity.objects.none()
    return UserActivity.objects.filter(customer_id=customer_id).order_by("-created_at", "-id")


def activity_timeline(*, customer, limit: int = 20) -> list[UserActivity]:
    return list(activities_of(customer.pk)[:limit])


def journey(*, customer, limit: int = 20) -> list[CustomerJourney]:
    return list(CustomerJourney.objects.filter(customer=customer).order_by("-at", "-id")[:limit])[::-1]


# --- at risk -----------------------------------------------------------------------------------------

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


# --- campaigns ---------------------------------------------------------------------------------------

def campaign_get(campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(pk=campaign_id).first()


def campaigns_latest(*, limit: int = 5) -> list[Campaign]:
    return list(Campaign.objects.order_by("-id")[:limit])


@dataclass
class CampaignStats:
    targeted: int = 0
    pending: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0
    pressed: int = 0
    converted: int = 0
    revenue_amount: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def campaign_stats(*, campaign: Campaign) -> CampaignStats:
    """Targeted, what became of the messages (from the message port), pressed, and the
    customers who paid within the conversion window with their revenue."""
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    stats = CampaignStats(targeted=recipients.count(), pressed=recipients.filter(pressed_at__isnull=False).count())
    counts = dict(recipients.filter(notification_id__isnull=True).values_list("status").annotate(n=Count("id")))
    linked = recipients.filter(notification_id__isnull=False)
    for key, n in messages.outcomes(linked.values("notification_id")).items():
        counts[key] = counts.get(key, 0) + n
    for key in ("pending", "sent", "failed", "blocked", "skipped"):
        setattr(stats, key, int(counts.get(key, 0)))
    window = timedelta(days=campaign.conversion_days)
    orders = Order.objects.filter(
        status__in=[Order.Status.PAID, Order.Status.REFUNDED],
        customer__crm_campaigns__campaign=campaign,
        paid_at__gte=F("customer__crm_campaigns__created_at"),
        paid_at__lte=F("customer__crm_campaigns__created_at") + window,
    )
    agg = orders.aggregate(customers=Count("customer_id", distinct=True), revenue=Sum(F("paid_amount") - F("refunded_amount")))
    stats.converted = agg["customers"] or 0
    stats.revenue_amount = int(agg["revenue"] or 0)
    return stats
