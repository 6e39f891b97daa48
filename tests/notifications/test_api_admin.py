import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from notifications import services
from notifications.models import Broadcast, Notification, NotificationTemplate
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return User.objects.create_superuser("ops", "ops@example.com", "pw")


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


def test_admin_pages_and_actions(client, staff, fake_telegram):
    client.force_login(staff)
    customer = CustomerFactory()
    n = services.notification_enqueue(customer=customer, type="campaign", dedup_key="a", text="A")
    for url in ("/admin/notifications/notification/", f"/admin/notifications/notification/{n.pk}/change/",
                "/admin/notifications/notificationlog/", "/admin/notifications/broadcast/",
                "/admin/notifications/notificationtemplate/add/", "/admin/notifications/notificationsettings/"):
        assert client.get(url).status_code == 200, url
    # cancel asks first, then cancels
    page = client.post("/admin/notifications/notification/", {"action": "cancel", "_selected_action": [n.pk]})
    assert page.status_code == 200 and b"Cancel them" in page.content
    assert Notification.objects.get(pk=n.pk).status == "pending"
    client.post("/admin/notifications/notification/", {"action": "cancel", "_selected_action": [n.pk], "confirm": "yes"})
    assert Notification.objects.get(pk=n.pk).status == "cancelled"
    client.post("/admin/notifications/notification/", {"action": "resend", "_selected_action": [n.pk], "confirm": "yes"})
    assert Notification.objects.get(pk=n.pk).status == "pending"


def test_admin_template_validation_and_preview(client, staff):
    client.force_login(staff)
    bad = client.post("/admin/notifications/notificationtemplate/add/",
                      {"type": "payment_approved", "language": "en", "body": "{amount} {nope}", "is_active": "on"})
    assert bad.status_code == 200 and b"unknown placeholder" in bad.content
    assert not NotificationTemplate.objects.exists()
    good = client.post("/admin/notifications/notificationtemplate/add/",
                       {"type": "payment_approved", "language": "en", "body": "Got {amount}", "is_active": "on"})
    assert good.status_code == 302
    row = NotificationTemplate.objects.get()
    page = client.get(f"/admin/notifications/notificationtemplate/{row.pk}/change/")
    assert b"Got 200,000 Toman" in page.content


def test_admin_actions_are_refused_to_staff_who_may_only_view(client, fake_telegram):
    from django.contrib.auth.models import Permission

    nobody = User.objects.create_user("nobody", password="pw", is_staff=True)
    client.force_login(nobody)
    assert client.get("/admin/notifications/broadcast/").status_code == 403
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_broadcast", "view_notification"]))
    client.force_login(viewer)
    CustomerFactory.create_batch(2)
    n = services.notification_enqueue(customer=CustomerFactory(), type="campaign", dedup_key="a", text="A")
    b = services.broadcast_create(created_by=None, text="To everyone")
    page = client.get("/admin/notifications/broadcast/")
    assert page.status_code == 200 and b'value="start"' not in page.content
    assert client.get(f"/admin/notifications/broadcast/{b.pk}/change/").status_code == 200
    client.post(f"/admin/notifications/broadcast/{b.pk}/change/", {"text": "Changed", "audience": "all"})
    client.post("/admin/notifications/broadcast/", {"action": "start", "_selected_action": [b.pk], "confirm": "yes"})
    b.refresh_from_db()
    assert b.status == "draft" and b.text == "To everyone" and not b.recipients.exists()
    client.post("/admin/notifications/notification/", {"action": "cancel", "_selected_action": [n.pk], "confirm": "yes"})
    assert Notification.objects.get(pk=n.pk).status == "pending"


def test_api_broadcast_create_and_start_is_one_transaction(api, fake_telegram, monkeypatch):
    """A broadcast that cannot be started leaves no draft behind, whatever the failure."""
    from django.db import DatabaseError

    from notifications import audiences
    from notifications.services import broadcasts

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
