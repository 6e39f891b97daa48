"""The admin: pages, confirmed resend and cancel, template validation and preview, and actions
refused to staff who may only view."""

import pytest
from django.contrib.auth.models import Permission, User

from notifications import services
from notifications.models import Notification, NotificationSettings, NotificationTemplate
from tests.factories import CustomerFactory
from vpnbot.core import bounds

pytestmark = pytest.mark.django_db


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


@pytest.mark.parametrize("field, value", [("daily_limit", bounds.MAX_DAILY_MESSAGES + 1), ("daily_limit", 10**4),
                                          ("min_interval_minutes", bounds.MAX_INTERVAL_MINUTES + 1),
                                          ("min_interval_minutes", 10**9)])
def test_the_admin_refuses_a_customer_setting_out_of_bounds(client, staff, field, value):
    client.force_login(staff)
    row = NotificationSettings.objects.create(customer=CustomerFactory(), daily_limit=3, min_interval_minutes=10)
    form = {"customer": row.customer_id, "disabled_types": "[]", "quiet_start": "", "quiet_end": "", "daily_limit": 3,
            "min_interval_minutes": 10}
    page = client.post(f"/admin/notifications/notificationsettings/{row.pk}/change/", {**form, field: value})
    assert page.status_code == 200 and field in page.context["adminform"].form.errors
    row.refresh_from_db()
    assert (row.daily_limit, row.min_interval_minutes) == (3, 10)
    assert client.post(f"/admin/notifications/notificationsettings/{row.pk}/change/", form).status_code == 302
