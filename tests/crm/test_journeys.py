"""The journey: one step per stage change, from visitor to won back."""

from datetime import timedelta

import pytest

from crm.models import CustomerJourney
from tests.crm.factories import CustomerFactory, PlanFactory, buy
from tests.crm.helpers import T, profile, recompute

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recompute_settings")]


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
