"""Customers: who is subscribed, who renews, who leaves, what a customer brings (ARPU), and
the lifetime value of each monthly cohort. Subscriptions bought for resale and free trials are
not a customer's own service and are left out of the subscriber figures."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from vpnbot.shop.models import Order, Subscription

from .common import SOLD, as_int, paid_orders
from .periods import Period

MAX_COHORT_MONTHS = 36


def own_subscriptions():
    return Subscription.objects.filter(is_trial=False, resold=False)


def active_subscribers(at=None) -> int:
    """Customers with a subscription of their own running at `at` (now)."""
    at = at or timezone.now()
    return (own_subscriptions().filter(starts_at__lte=at, expires_at__gt=at)
            .exclude(status=Subscription.Status.CANCELLED).values("customer_id").distinct().count())


def _renewed(days: int):
    """A subscription was renewed when another one continues it (bought while it ran), or
    when its customer bought the same plan again from its start to `days` after its end (a
    renewal after a lapse starts a new subscription). A renewal refunded since does not count."""
    continued = Subscription.objects.filter(renewed_from_id=OuterRef("pk")).exclude(status=Subscription.Status.CANCELLED)
    again = (Order.objects.filter(customer_id=OuterRef("customer_id"), plan_id=OuterRef("plan_id"), status=Order.Status.PAID,
                                  paid_at__gt=OuterRef("starts_at"),
                                  paid_at__lte=OuterRef("expires_at") + timedelta(days=days))
             .exclude(pk=OuterRef("order_id")))
    return Exists(continued) | Exists(again)


def renewal_rates(period: Period, days: int | None = None) -> list[dict]:
    """Per plan: of the customers' own subscriptions that ended in the period (not cut short
    by a refund), how many were renewed (see _renewed; `days` is REPORTS_CHURN_DAYS)."""
    days = settings.REPORTS_CHURN_DAYS if days is None else days
    rows = (own_subscriptions().filter(expires_at__gte=period.start, expires_at__lt=period.end)
            .exclude(status=Subscription.Status.CANCELLED)
            .annotate(was_renewed=_renewed(days)).values("plan_id", "plan__name")
            .annotate(ended=Count("id"), renewed=Count("id", filter=Q(was_renewed=True))).order_by("plan_id"))
    return [{"plan_id": row["plan_id"], "name": row["plan__name"], "ended": row["ended"], "renewed": row["renewed"],
             "renewal_rate_bp": row["renewed"] * 10_000 // row["ended"] if row["ended"] else 0} for row in rows]


def churn(period: Period, days: int | None = None) -> dict:
    """Subscriptions that ended `days` before the period's days (so each has had its `days` to
    come back), and of those the ones whose customer neither renewed nor bought anything within
    `days` after the end: churned."""
    days = settings.REPORTS_CHURN_DAYS if days is None else days
    ended = (own_subscriptions().exclude(status=Subscription.Status.CANCELLED)
             .filter(expires_at__gte=period.start - timedelta(days=days), expires_at__lt=period.end - timedelta(days=days)))
    came_back = Order.objects.filter(customer_id=OuterRef("customer_id"), status__in=SOLD,
                                     paid_at__gt=OuterRef("starts_at"),
                                     paid_at__lte=OuterRef("expires_at") + timedelta(days=days)
                                     ).exclude(pk=OuterRef("order_id"))
    renewed = Subscription.objects.filter(renewed_from_id=OuterRef("pk"))
    row = ended.annotate(back=Exists(came_back) | Exists(renewed)).aggregate(
        ended=Count("id"), churned=Count("id", filter=Q(back=False)))
    return {"days": days, "ended": row["ended"], "churned": row["churned"],
            "churn_rate_bp": row["churned"] * 10_000 // row["ended"] if row["ended"] else 0}


def retail_orders(period: Period):
    """The period's paid orders for the customers' own service: not the accounts resellers
    buy for their customers (those customers are not counted among the shop's)."""
    return paid_orders(period).exclude(subscription__resold=True)


def arpu(period: Period, net_amount: int | None = None) -> dict:
    """Net sales to customers for their own service (resellers' purchases for resale left
    out: their customers are not counted) per customer with a subscription of their own
    running at some time in the period (ARPU), and per customer who paid something for it
    (ARPPU: a free order makes nobody a payer)."""
    orders = retail_orders(period)
    if net_amount is None:
        net_amount = as_int(orders.aggregate(net=Sum("paid_amount"))["net"])
    active = (own_subscriptions().filter(starts_at__lt=period.end, expires_at__gt=period.start)
              .values("customer_id").distinct().count())
    payers = orders.filter(paid_amount__gt=0).values("customer_id").distinct().count()
    return {"retail_net_amount": net_amount, "active_customers": active,
            "arpu_amount": net_amount // active if active else 0,
            "paying_customers": payers, "arppu_amount": net_amount // payers if payers else 0}


def report_customers(period: Period) -> dict:
    return {"from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
            "active_subscribers": active_subscribers(), "renewal": renewal_rates(period), "churn": churn(period),
            **arpu(period)}
