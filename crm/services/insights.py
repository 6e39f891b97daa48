"""Insights: the facts the recompute finds (per customer in SQL, per segment for the shop)
and their wording for the customer who reads them (/my_insights) or for an operator."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from ..models import RecomputeRun, Segment, UserInsight

INSIGHT_DAYS = 7  # an insight stays current this long, and is not repeated meanwhile
LATE_DAYS = 2  # renews late: at least this many days late on average
RISK_JUMP = 30  # churn risk up: at least this many points above the weekly baseline
SEGMENT_GROWTH_PERCENT = 10  # a segment grew: at least this much against a week ago


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


def insight_params(as_of: datetime) -> dict:
    return {"as_of": as_of, "insight_until": as_of + timedelta(days=INSIGHT_DAYS), "late_days": LATE_DAYS,
            "risk_jump": RISK_JUMP}


def insight_statements() -> list[tuple[str, str]]:
    """(kind, INSERT ... SELECT) for per-customer facts not already current."""
    fresh = """NOT EXISTS (SELECT 1 FROM crm_userinsight i WHERE i.customer_id = s.customer_id
               AND i.kind = '{kind}' AND i.expires_at > :as_of)"""
    head = "INSERT INTO crm_userinsight (customer_id, kind, segment, value, severity, created_at, expires_at) SELECT "
    return [
        ("renews_late", head + "s.customer_id, 'renews_late', s.segment, s.avg_renewal_late_days, 'warning', :as_of, "
         ":insight_until FROM crm_profilestage s WHERE s.avg_renewal_late_days >= :late_days AND "
         + fresh.format(kind="renews_late")),
        ("discount_only", head + "s.customer_id, 'discount_only', s.segment, s.frequency, 'info', :as_of, "
         ":insight_until FROM crm_profilestage s WHERE s.frequency >= 2 AND s.discounted_orders = s.frequency AND "
         + fresh.format(kind="discount_only")),
        # against the profile's baseline, before the profile takes the new values
        ("churn_risk_up", head + "s.customer_id, 'churn_risk_up', s.segment, s.churn_risk - p.churn_risk_baseline, "
         "'critical', :as_of, :insight_until FROM crm_profilestage s JOIN crm_userprofile p "
         "ON p.customer_id = s.customer_id "
         "WHERE p.baseline_at IS NOT NULL AND s.churn_risk >= p.churn_risk_baseline + :risk_jump AND "
         + fresh.format(kind="churn_risk_up")),
        ("loyal", head + "s.customer_id, 'loyal', s.segment, s.frequency, 'info', :as_of, :insight_until "
         "FROM crm_profilestage s WHERE s.stage = 'loyal' AND (s.prev_stage IS NULL OR s.prev_stage <> 'loyal') AND "
         + fresh.format(kind="loyal")),
    ]


def segment_growth_insights(run: RecomputeRun, as_of: datetime) -> int:
    """Shop-wide: a segment that grew by 10% or more against the run closest to a week ago."""
    before = (RecomputeRun.objects.filter(as_of__lte=as_of - timedelta(days=7), finished_at__isnull=False)
              .exclude(pk=run.pk).order_by("-as_of").first())
    if before is None:
        return 0
    created = 0
    for segment in ("at_risk", "churned", "vip", "active", "won_back"):
        old, new = int(before.segment_counts.get(segment, 0)), int(run.segment_counts.get(segment, 0))
        if old <= 0 or new <= old:
            continue
        percent = (new - old) * 100 // old
        if percent < SEGMENT_GROWTH_PERCENT:
            continue
        if UserInsight.objects.filter(customer__isnull=True, kind=UserInsight.Kind.SEGMENT_GROWTH, segment=segment,
                                      expires_at__gt=as_of).exists():
            continue
        severity = UserInsight.Severity.WARNING if segment in ("at_risk", "churned") else UserInsight.Severity.INFO
        UserInsight.objects.create(kind=UserInsight.Kind.SEGMENT_GROWTH, segment=segment, value=percent,
                                   severity=severity, created_at=as_of, expires_at=as_of + timedelta(days=INSIGHT_DAYS))
        created += 1
    return created
