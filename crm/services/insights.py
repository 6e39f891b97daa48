"""Insights shown to customers (/my_insights) and admins, rendered in the reader's language."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Segment, UserInsight


def insight_text(insight: UserInsight) -> str:
    kind, value = insight.kind, insight.value
    if kind == UserInsight.Kind.RENEWS_LATE:
        return _("You renew %(days)s days late on average: renew a little earlier to stay connected.") % {"days": value}
    if kind == UserInsight.Kind.DISCOUNT_ONLY:
        return _("You buy with a discount every time (%(n)s orders): watch /my_offers for the next one.") % {"n": value}
    if kind == UserInsight.Kind.CHURN_RISK_UP:
        return _("Your service needs attention: churn risk up %(n)s points this week.") % {"n": value}
    if kind == UserInsight.Kind.LOYAL:
        return _("Thank you for being a loyal customer: %(n)s orders so far!") % {"n": value}
    if kind == UserInsight.Kind.SEGMENT_GROWTH:
        label = dict(Segment.choices).get(insight.segment, insight.segment)
        return _("%(segment)s grew %(n)s%% this week.") % {"segment": label, "n": value}
    return insight.get_kind_display()


def admin_insight_text(insight: UserInsight) -> str:
    """The same fact worded for an operator."""
    kind, value = insight.kind, insight.value
    if kind == UserInsight.Kind.RENEWS_LATE:
        return _("renews %(days)s days late on average") % {"days": value}
    if kind == UserInsight.Kind.DISCOUNT_ONLY:
        return _("buys only with a discount (%(n)s orders)") % {"n": value}
    if kind == UserInsight.Kind.CHURN_RISK_UP:
        return _("churn risk up %(n)s points this week") % {"n": value}
    if kind == UserInsight.Kind.LOYAL:
        return _("became loyal (%(n)s orders)") % {"n": value}
    return insight_text(insight)


def insights_for(*, customer, now: datetime | None = None, limit: int = 10) -> list[UserInsight]:
    now = now or timezone.now()
    return list(UserInsight.objects.filter(customer=customer, expires_at__gt=now).order_by("-created_at", "-id")[:limit])


def insights_shop(*, now: datetime | None = None, limit: int = 10) -> list[UserInsight]:
    now = now or timezone.now()
    return list(UserInsight.objects.filter(customer__isnull=True, expires_at__gt=now).order_by("-created_at")[:limit])
