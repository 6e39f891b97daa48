"""The segment rules at their boundaries, with a frozen clock: new, prospect, dormant, at risk,
churned, active, high value and VIP."""

from datetime import timedelta

import pytest

from tests.crm.factories import CustomerFactory, OrderFactory, PlanFactory, SubscriptionFactory, buy
from tests.crm.helpers import T, profile, recompute

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recompute_settings")]


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
