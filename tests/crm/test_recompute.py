"""The recompute run: a rerun on unchanged data writes nothing, the switch and the clock,
and an overlapping run skips while another holds the lock."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections, transaction

from crm.models import CustomerJourney, RecomputeLock, UserInsight, UserProfile
from crm.services import profiles_recompute
from tests.crm.factories import CustomerFactory, OrderFactory, PlanFactory, buy
from tests.crm.helpers import T, make_golden, profile, recompute

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recompute_settings")]


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


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_overlapping_run_skips_while_the_lock_is_held():
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
