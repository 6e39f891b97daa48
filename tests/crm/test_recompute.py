import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction

from crm.models import CustomerJourney, RecomputeLock, UserInsight, UserProfile
from crm.services import profiles_recompute
from tests.crm.factories import CustomerFactory, OrderFactory, PlanFactory, SubscriptionFactory, buy

pytestmark = pytest.mark.django_db
T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def crm_settings(settings):
    settings.ENABLE_CRM = True
    settings.CRM_NEW_DAYS = 7
    settings.CRM_DORMANT_DAYS = 30
    settings.CRM_AT_RISK_DAYS = 5
    settings.CRM_CHURN_GRACE_DAYS = 14
    settings.CRM_HIGH_VALUE_AMOUNT = 2_000_000
    settings.CRM_VIP_MIN_RFM = 13
    settings.CRM_LOYAL_MIN_ORDERS = 4
    settings.CRM_WON_BACK_DAYS = 30
    return settings


def recompute(at):
    return profiles_recompute(as_of=at, make_offers=False)


def profile(customer) -> UserProfile:
    return UserProfile.objects.get(customer=customer)


# --- the golden data set: 11 buyers, 2 who never bought; ties in R, F and M ---------------------

# name: (monetary, frequency, days since the last order)
GOLDEN = {
    "B1": (100, 3, 50), "B2": (200, 1, 10), "B3": (200, 2, 30), "B4": (200, 1, 10), "B5": (300, 1, 40),
    "B6": (400, 2, 20), "B7": (400, 1, 10), "B8": (500, 1, 60), "B9": (600, 3, 5), "B10": (700, 1, 25),
    "B11": (700, 2, 15),
}
# NTILE(5) over 11 rows makes groups of 3, 2, 2, 2, 2, ordered by the value then the customer id.
EXPECTED_RFM = {
    "B1": (1, 5, 1), "B2": (4, 1, 1), "B3": (2, 3, 1), "B4": (4, 1, 2), "B5": (1, 1, 2), "B6": (3, 4, 3),
    "B7": (5, 2, 3), "B8": (1, 2, 4), "B9": (5, 5, 4), "B10": (2, 3, 5), "B11": (3, 4, 5),
}


def make_golden():
    plan = PlanFactory(price_amount=1000)
    customers = {}
    for name, (monetary, frequency, days_ago) in GOLDEN.items():
        customer = CustomerFactory(joined_at=T - timedelta(days=200), username=name.lower())
        last = T - timedelta(days=days_ago)
        amounts = [monetary // frequency] * frequency
        amounts[-1] += monetary - sum(amounts)
        for i, amount in enumerate(amounts):
            at = last - timedelta(days=(frequency - 1 - i) * 7)
            OrderFactory(customer=customer, plan=plan, list_amount=amount, paid_amount=amount, created_at=at, paid_at=at)
        customers[name] = customer
    customers["N1"] = CustomerFactory(joined_at=T - timedelta(days=3))
    customers["N2"] = CustomerFactory(joined_at=T - timedelta(days=90))
    # not counted: a pending order, and a paid order after the run's timestamp
    OrderFactory(customer=customers["N1"], plan=plan, status="pending", paid_at=None)
    OrderFactory(customer=customers["N2"], plan=plan, created_at=T + timedelta(hours=1), paid_at=T + timedelta(hours=1))
    return customers


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


def test_identical_rerun_changes_nothing():
    customers = make_golden()
    buy(customers["B9"], PlanFactory(), at=T - timedelta(days=2))
    first = recompute(T)
    snapshot = {p.customer_id: (p.rfm, p.segment, p.stage, p.churn_risk, p.updated_at, p.baseline_at)
                for p in UserProfile.objects.all()}
    journeys, insights = CustomerJourney.objects.count(), UserInsight.objects.count()
    assert first.journey_steps > 0
    again = recompute(T)
    assert (again.created, again.changed, again.journey_steps, again.insights) == (0, 0, 0, 0)
    assert CustomerJourney.objects.count() == journeys and UserInsight.objects.count() == insights
    assert {p.customer_id: (p.rfm, p.segment, p.stage, p.churn_risk, p.updated_at, p.baseline_at)
            for p in UserProfile.objects.all()} == snapshot
    # a real change touches exactly the profiles it concerns
    OrderFactory(customer=customers["N1"], plan=PlanFactory(), created_at=T - timedelta(hours=1),
                 paid_at=T - timedelta(hours=1))
    later = recompute(T)
    assert later.changed >= 1 and profile(customers["N1"]).frequency == 1


def test_recompute_uses_now_by_default_and_is_off_when_disabled(settings):
    customer = CustomerFactory(joined_at=T - timedelta(days=1))
    settings.ENABLE_CRM = False
    assert profiles_recompute() is None
    assert not UserProfile.objects.exists()
    settings.ENABLE_CRM = True
    with time_machine.travel(T, tick=False):
        run = profiles_recompute(make_offers=False)
    assert run.as_of == T and profile(customer).segment == "new"


# --- segment boundaries, frozen clock ----------------------------------------------------------------

@pytest.mark.parametrize(("joined_days", "segment"), [
    (timedelta(days=7), "new"), (timedelta(days=7, seconds=1), "prospect"),
    (timedelta(days=30), "prospect"), (timedelta(days=30, seconds=1), "dormant"),
])
def test_non_buyer_segment_boundaries(joined_days, segment):
    customer = CustomerFactory(joined_at=T - joined_days)
    recompute(T)
    assert profile(customer).segment == segment
    assert profile(customer).stage == "visitor"


@pytest.mark.parametrize(("expires_in", "segment"), [
    (timedelta(days=5), "at_risk"), (timedelta(days=5, seconds=1), "active"),
    (timedelta(seconds=1), "at_risk"),
    (timedelta(0), "at_risk"),  # expired just now, within the grace period
    (-timedelta(days=14), "at_risk"), (-timedelta(days=14, seconds=1), "churned"),
])
def test_subscription_segment_boundaries(expires_in, segment):
    customer = CustomerFactory(joined_at=T - timedelta(days=100))
    plan = PlanFactory()
    bought = T - timedelta(days=40)
    order = OrderFactory(customer=customer, plan=plan, created_at=bought, paid_at=bought)
    SubscriptionFactory(customer=customer, plan=plan, order=order, starts_at=bought, expires_at=T + expires_in,
                        created_at=bought)
    recompute(T)
    assert profile(customer).segment == segment


def test_renewal_in_advance_is_not_at_risk():
    customer = CustomerFactory(joined_at=T - timedelta(days=100))
    plan = PlanFactory()
    buy(customer, plan, at=T - timedelta(days=28))  # ends in 2 days
    buy(customer, plan, at=T - timedelta(days=1), days=31)  # renewed: runs until T + 30
    recompute(T)
    assert profile(customer).segment == "active"
    assert profile(customer).stage == "repeat"


@pytest.mark.parametrize(("spent", "segment"), [(2_000_000, "high_value"), (1_999_999, "active")])
def test_high_value_threshold(spent, segment, settings):
    settings.CRM_VIP_MIN_RFM = 16  # out of reach: test the spend threshold alone
    customer = CustomerFactory(joined_at=T - timedelta(days=100))
    buy(customer, PlanFactory(), at=T - timedelta(days=3), amount=spent)
    recompute(T)
    assert profile(customer).segment == segment


def test_vip_is_the_top_rfm():
    plan = PlanFactory(price_amount=1000)
    customers = []
    for i in range(5):
        customer = CustomerFactory(joined_at=T - timedelta(days=300))
        for j in range(i + 1):
            buy(customer, plan, at=T - timedelta(days=10 - i + j * 0), amount=1000 * (i + 1))
        customers.append(customer)
    recompute(T)
    assert profile(customers[-1]).rfm == "555"
    assert profile(customers[-1]).segment == "vip"
    assert profile(customers[0]).segment == "active"


# --- journeys -------------------------------------------------------------------------------------

def test_journey_through_every_stage():
    customer = CustomerFactory(joined_at=T)
    plan = PlanFactory(duration_days=30)
    recompute(T)
    assert profile(customer).stage == "visitor"
    buy(customer, plan, at=T + timedelta(days=1))
    recompute(T + timedelta(days=2))
    buy(customer, plan, at=T + timedelta(days=20))  # runs until day 50
    recompute(T + timedelta(days=21))
    recompute(T + timedelta(days=46))  # ends within 5 days
    recompute(T + timedelta(days=65))  # expired 15 days ago
    buy(customer, plan, at=T + timedelta(days=70))
    recompute(T + timedelta(days=71))
    recompute(T + timedelta(days=72))  # still won back
    steps = [(j.from_stage, j.stage) for j in CustomerJourney.objects.filter(customer=customer)]
    assert steps == [("visitor", "first_purchase"), ("first_purchase", "repeat"), ("repeat", "at_risk"),
                     ("at_risk", "churned"), ("churned", "won_back")]
    assert [j.at for j in CustomerJourney.objects.filter(customer=customer)] == [
        T + timedelta(days=d) for d in (2, 21, 46, 65, 71)]
    p = profile(customer)
    assert p.segment == "won_back" and p.won_back_at == T + timedelta(days=71)
    recompute(T + timedelta(days=102))  # the won-back window is over and the service ended
    assert profile(customer).stage == "at_risk"


# --- insights ---------------------------------------------------------------------------------------

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


# --- the lock ------------------------------------------------------------------------------------------

@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_overlapping_run_skips_while_the_lock_is_held():
    from django.db import connections

    CustomerFactory()
    RecomputeLock.objects.get_or_create(name="recompute")
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                RecomputeLock.objects.select_for_update().get(name="recompute")
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    try:
        assert profiles_recompute(as_of=T, make_offers=False) is None
    finally:
        release.set()
        thread.join()
    assert profiles_recompute(as_of=T, make_offers=False) is not None
    assert connection.vendor in ("postgresql", "mysql")


# --- PostgreSQL's single-statement fill equals the portable statements -------------------------------

PROFILE_FIELDS = ("customer_id", "frequency", "monetary_amount", "average_order_amount", "first_order_at",
                  "last_order_at", "recency_days", "r_score", "f_score", "m_score", "favourite_plan_id",
                  "avg_days_between_orders", "avg_renewal_late_days", "discounted_orders", "active_until",
                  "last_expired_at", "churn_risk", "churn_risk_baseline", "baseline_at", "segment", "stage",
                  "won_back_at", "updated_at")


def make_random_shop(seed=7, customers=80):
    """Customers with orders of every status on several plans (ties in counts, amounts and
    times), subscriptions of every status, renewals early and late, and purchases after the
    first runs (won back)."""
    import random

    from vpnbot.shop.models import Order, Subscription

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
    from crm.models import RecomputeRun

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
    from crm.services import recompute as module

    if connection.vendor != "postgresql":
        pytest.skip("the single-statement fill is PostgreSQL's")
    make_random_shop(seed)
    monkeypatch.setattr(module, "POSTGRES_SINGLE_PASS", True)
    single = recompute_history()
    monkeypatch.setattr(module, "POSTGRES_SINGLE_PASS", False)
    portable = recompute_history()
    assert single["profiles"] and single["journeys"] and single["insights"]
    seen = {segment for run in single["runs"] for segment in run[-1]}
    assert seen >= {"new", "dormant", "churned", "at_risk", "active", "won_back"}
    assert single == portable
