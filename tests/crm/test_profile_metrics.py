"""The profile metrics: aggregates and RFM quintiles (a golden set with ties), and PostgreSQL's
single statement against the portable ones on random data."""

import random
from datetime import timedelta

import pytest
from django.db import connection

from crm.models import CustomerJourney, RecomputeRun, UserInsight, UserProfile
from crm.services import recompute as recompute_module
from tests.crm.factories import CustomerFactory, PlanFactory
from tests.crm.helpers import GOLDEN, T, make_golden, profile, recompute
from vpnbot.shop.models import Order, Subscription

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recompute_settings")]

EXPECTED_RFM = {
    "B1": (1, 5, 1), "B2": (4, 1, 1), "B3": (2, 3, 1), "B4": (4, 1, 2), "B5": (1, 1, 2), "B6": (3, 4, 3),
    "B7": (5, 2, 3), "B8": (1, 2, 4), "B9": (5, 5, 4), "B10": (2, 3, 5), "B11": (3, 4, 5),
}


def test_golden_rfm_quintiles_with_ties():
    customers = make_golden()
    run = recompute(T)
    assert run.profiles == 13 and run.created == 13
    for name, expected in EXPECTED_RFM.items():
        p = profile(customers[name])
        assert (p.r_score, p.f_score, p.m_score) == expected, name
        monetary, frequency, days_ago = GOLDEN[name]
        assert p.monetary_amount == monetary and p.frequency == frequency
        assert p.recency_days == days_ago
        assert p.average_order_amount == monetary // frequency
    for name in ("N1", "N2"):
        p = profile(customers[name])
        assert (p.r_score, p.f_score, p.m_score, p.frequency, p.monetary_amount) == (0, 0, 0, 0, 0)
    assert profile(customers["N1"]).segment == "new"
    assert profile(customers["N2"]).segment == "dormant"
    assert profile(customers["B1"]).avg_days_between_orders == 7


PROFILE_FIELDS = ("customer_id", "frequency", "monetary_amount", "average_order_amount", "first_order_at",
                  "last_order_at", "recency_days", "r_score", "f_score", "m_score", "favourite_plan_id",
                  "avg_days_between_orders", "avg_renewal_late_days", "discounted_orders", "active_until",
                  "last_expired_at", "churn_risk", "churn_risk_baseline", "baseline_at", "segment", "stage",
                  "won_back_at", "updated_at")


def make_random_shop(seed=7, customers=80):
    """Customers with orders of every status on several plans (ties in counts, amounts and
    times), subscriptions of every status, renewals early and late, and purchases after the
    first runs (won back)."""
    rng = random.Random(seed)
    plans = [PlanFactory(price_amount=1000 * (i + 1), duration_days=30) for i in range(4)]
    orders, subs = [], []
    for c in range(customers):
        customer = CustomerFactory(joined_at=T - timedelta(days=rng.choice([1, 7, 20, 31, 200, 400])))
        for k in range(rng.choice([0, 0, 1, 1, 2, 3, 5, 8])):
            plan = rng.choice(plans)
            # whole days (ties in recency), some after T (the later runs see them)
            at = T - timedelta(days=rng.choice(range(-45, 300)), hours=rng.choice([0, 0, 6]))
            status = rng.choice(["paid"] * 6 + ["refunded", "pending", "cancelled"])
            amount = rng.choice([plan.price_amount, plan.price_amount, 999, 1500])
            discount = rng.choice([0, 0, 100])
            order = Order(customer=customer, plan=plan, list_amount=amount + discount, paid_amount=amount,
                          discount_amount=discount, status=status, idempotency_key=f"cmp-{seed}-{c}-{k}",
                          created_at=at, paid_at=None if status == "pending" else at,
                          refunded_amount=amount // 2 if status == "refunded" else 0)
            orders.append(order)
            if status in ("paid", "refunded"):
                starts = at + timedelta(days=rng.choice([0, 0, 0, 3]))
                subs.append((order, Subscription(
                    customer=customer, plan=plan, starts_at=starts,
                    expires_at=starts + timedelta(days=rng.choice([30, 30, 31, 90])), created_at=at,
                    status=rng.choice(["active", "active", "expired", "cancelled"]))))
    # favourite plan: equal counts and equal latest times, so the plan id decides
    tie = CustomerFactory(joined_at=T - timedelta(days=100))
    for k, plan in enumerate((plans[2], plans[1], plans[2], plans[1])):
        at = T - timedelta(days=10 + k // 2)
        orders.append(Order(customer=tie, plan=plan, list_amount=1000, paid_amount=1000, status="paid",
                            idempotency_key=f"cmp-{seed}-tie-{k}", created_at=at, paid_at=at))
    Order.objects.bulk_create(orders)
    for order, sub in subs:
        sub.order_id = Order.objects.get(idempotency_key=order.idempotency_key).pk
    Subscription.objects.bulk_create([sub for _order, sub in subs])


def recompute_history():
    """Runs at several times (first run, rerun, a week later, after new purchases) and what
    they leave behind."""
    counts = []
    for days, hours in ((0, 0), (0, 0), (8, 0), (8, 1), (40, 0), (41, 0), (41, 0)):
        run = recompute(T + timedelta(days=days, hours=hours))
        counts.append((run.profiles, run.created, run.changed, run.journey_steps, run.insights, run.segment_counts))
    state = {
        "runs": counts,
        "profiles": sorted(UserProfile.objects.values_list(*PROFILE_FIELDS)),
        "journeys": sorted(CustomerJourney.objects.values_list("customer_id", "from_stage", "stage", "at")),
        "insights": sorted(UserInsight.objects.values_list("customer_id", "kind", "segment", "value", "severity",
                                                           "created_at", "expires_at"), key=repr),
    }
    for model in (UserProfile, CustomerJourney, UserInsight, RecomputeRun):
        model.objects.all().delete()
    return state


@pytest.mark.parametrize("seed", [7, 8])
def test_postgresql_single_statement_equals_portable_statements(seed, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the single-statement fill is PostgreSQL's")
    make_random_shop(seed)
    monkeypatch.setattr(recompute_module, "POSTGRES_SINGLE_PASS", True)
    single = recompute_history()
    monkeypatch.setattr(recompute_module, "POSTGRES_SINGLE_PASS", False)
    portable = recompute_history()
    assert single["profiles"] and single["journeys"] and single["insights"]
    seen = {segment for run in single["runs"] for segment in run[-1]}
    assert seen >= {"new", "dormant", "churned", "at_risk", "active", "won_back"}
    assert single == portable
