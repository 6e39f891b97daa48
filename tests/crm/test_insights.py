"""Insights the recompute finds: renews late, buys only with a discount, churn risk up, and a
segment that grew against a week ago."""

from datetime import timedelta

import pytest

from crm.models import UserInsight
from tests.crm.factories import CustomerFactory, PlanFactory, buy
from tests.crm.helpers import T, profile, recompute

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recompute_settings")]


def test_customer_insights():
    plan = PlanFactory(duration_days=30)
    late = CustomerFactory(joined_at=T - timedelta(days=100))
    buy(late, plan, at=T - timedelta(days=40))  # ends T-10
    buy(late, plan, at=T - timedelta(days=8))  # renewed 2 days late
    bargain = CustomerFactory(joined_at=T - timedelta(days=100))
    buy(bargain, plan, at=T - timedelta(days=20), discount=100)
    buy(bargain, plan, at=T - timedelta(days=5), discount=100)
    recompute(T)
    assert profile(late).avg_renewal_late_days == 2
    assert UserInsight.objects.get(customer=late, kind="renews_late").value == 2
    assert UserInsight.objects.get(customer=bargain, kind="discount_only").value == 2
    assert not UserInsight.objects.filter(customer=late, kind="discount_only").exists()


def test_churn_risk_up_and_segment_growth():
    plan = PlanFactory(duration_days=30)
    a = CustomerFactory(joined_at=T - timedelta(days=100))
    buy(a, plan, at=T - timedelta(days=27))  # ends T+3
    b = CustomerFactory(joined_at=T - timedelta(days=100))
    buy(b, plan, at=T - timedelta(days=20))  # ends T+10
    recompute(T)
    assert profile(a).segment == "at_risk" and profile(b).segment == "active"
    risk_before = profile(b).churn_risk
    recompute(T + timedelta(days=6))  # 4 days left: up 25 points, not yet 30
    assert not UserInsight.objects.filter(customer=b, kind="churn_risk_up").exists()
    recompute(T + timedelta(days=7))  # 3 days left, compared with the baseline of a week ago
    assert profile(b).segment == "at_risk"
    assert profile(b).churn_risk - risk_before >= 30
    assert UserInsight.objects.get(customer=b, kind="churn_risk_up").value == profile(b).churn_risk - risk_before
    shop = UserInsight.objects.get(customer__isnull=True, kind="segment_growth", segment="at_risk")
    assert shop.value == 100  # 1 -> 2 customers
