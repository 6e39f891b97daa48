"""The staff API: the outbox list with filters, statistics, broadcasts (create and start in one
transaction, status, cancel)."""

import pytest
from django.db import DatabaseError
from rest_framework.test import APIClient

from notifications import services
from notifications.models import Broadcast
from notifications.services import broadcasts
from tests.factories import CustomerFactory
from vpnbot.shop import audiences

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def test_api_needs_staff(client):
    assert APIClient().get("/api/v1/notifications/").status_code in (401, 403)
    assert APIClient().post("/api/v1/broadcasts/", {"text": "x"}, format="json").status_code in (401, 403)


def test_api_list_filter_and_stats(api, fake_telegram):
    customer = CustomerFactory()
    services.notification_enqueue(customer=customer, type="campaign", dedup_key="a", text="A")
    services.notification_enqueue(customer=customer, type="new_discount", dedup_key="b", text="B")
    services.notification_process()
    data = api.get("/api/v1/notifications/?type=campaign").json()
    assert [r["type"] for r in data["results"]] == ["campaign"]
    stats = api.get("/api/v1/notification-stats/?days=3").json()
    assert stats["totals"]["sent"] == 2 and stats["delivery_rate"] == 1.0
    assert api.get("/api/v1/notification-stats/?days=abc").status_code == 400


def test_api_broadcast_create_status_cancel(api, fake_telegram, django_capture_on_commit_callbacks):
    CustomerFactory.create_batch(2)
    assert api.post("/api/v1/broadcasts/", {"text": "", "photo": ""}, format="json").status_code == 400
    assert api.post("/api/v1/broadcasts/", {"text": "x", "audience": "nobody"}, format="json").status_code == 400
    assert not Broadcast.objects.exists()
    draft = api.post("/api/v1/broadcasts/", {"text": "Draft", "start": False}, format="json").json()
    assert draft["status"] == "draft" and draft["progress"] is None
    with django_capture_on_commit_callbacks(execute=True):
        made = api.post("/api/v1/broadcasts/", {"text": "Hi all", "buttons": [[["Site", "url:https://example.com"]]]},
                        format="json")
    assert made.status_code == 201
    status = api.get(f"/api/v1/broadcasts/{made.json()['id']}/").json()
    assert status["status"] == "done" and status["progress"]["sent"] == 2 and status["progress"]["remaining"] == 0
    cancelled = api.post(f"/api/v1/broadcasts/{draft['id']}/cancel/").json()
    assert cancelled["status"] == "cancelled"
    assert api.post(f"/api/v1/broadcasts/{draft['id']}/cancel/").status_code == 400


def test_api_broadcast_create_and_start_is_one_transaction(api, fake_telegram, monkeypatch):
    """A broadcast that cannot be started leaves no draft behind, whatever the failure."""
    CustomerFactory()

    def refuse(**kwargs):
        raise services.NotificationError("cannot start now")

    monkeypatch.setattr(broadcasts, "broadcast_start", refuse)  # where broadcast_create looks it up
    response = api.post("/api/v1/broadcasts/", {"text": "Hi all"}, format="json")
    assert response.status_code == 400 and "cannot start now" in response.json()["detail"]
    assert not Broadcast.objects.exists()
    monkeypatch.undo()

    def broken(key):
        raise DatabaseError("the audience query failed")

    monkeypatch.setattr(audiences, "audience_queryset", broken)
    with pytest.raises(DatabaseError):
        api.post("/api/v1/broadcasts/", {"text": "Hi all"}, format="json")
    assert not Broadcast.objects.exists()
    monkeypatch.undo()
    draft = api.post("/api/v1/broadcasts/", {"text": "Later", "start": False}, format="json")
    assert draft.status_code == 201 and Broadcast.objects.get().status == "draft"


@pytest.mark.parametrize("days", ["0", "91", str(10**30), "-1", "²", "٣x", ""])
def test_stats_refuse_a_period_out_of_bounds_with_a_400(api, days):
    api.raise_request_exception = False
    response = api.get("/api/v1/notification-stats/", {"days": days})
    assert response.status_code == 400 and "days" in response.json()


@pytest.mark.parametrize("customer", ["²", "9" * 30, "-1", "1.5"])
def test_the_outbox_filter_refuses_what_is_no_customer_id_with_a_400(api, customer):
    api.raise_request_exception = False
    response = api.get("/api/v1/notifications/", {"customer": customer})
    assert response.status_code == 400 and "customer" in response.json()
