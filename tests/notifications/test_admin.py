"""The admin: pages, confirmed resend and cancel, template validation and preview, and actions
refused to staff who may only view."""

import pytest
from django.contrib.auth.models import Permission, User

from notifications import services
from notifications.models import Notification, NotificationSettings, NotificationTemplate
from tests.admin_i18n import FSI, PDI, assert_shows
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
    page = client.post("/admin/notifications/notification/", {"action": "cancel", "_selected_action": [n.pk]},
                       HTTP_ACCEPT_LANGUAGE="en")
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


NOTIFICATION_TEXTS = {
    "fa": {"actions": ("لغو اعلان‌های انتخاب‌شده‌ای که در انتظار ارسال‌اند…",
                       "ارسال دوبارهٔ اعلان‌های ناموفق یا لغوشدهٔ انتخاب‌شده…"),
           "title": "لغو اعلان‌ها", "question": "اعلان‌هایی که در انتظار ارسال‌اند فرستاده نمی‌شوند.",
           "button": 'value="لغو شوند"', "cancel": "انصراف", "done": "1 اعلان لغو شد.",
           "resent": "1 اعلان دوباره در صف ارسال قرار گرفت."},
    "en": {"actions": ("Cancel the selected pending notifications…",
                       "Send the selected failed or cancelled notifications again…"),
           "title": "Cancel notifications", "question": "Pending notifications will not be sent.",
           "button": 'value="Cancel them"', "cancel": "Cancel", "done": "1 notification cancelled.",
           "resent": "1 notification queued again."},
}


@pytest.mark.parametrize("language", ["fa", "en"])
def test_admin_notification_actions_read_in_the_operators_language(client, staff, fake_telegram, language):
    texts = NOTIFICATION_TEXTS[language]
    client.force_login(staff)
    n = services.notification_enqueue(customer=CustomerFactory(), type="campaign", dedup_key="a", text="A")
    url = "/admin/notifications/notification/"
    assert_shows(client.get(url, HTTP_ACCEPT_LANGUAGE=language), *texts["actions"])
    page = client.post(url, {"action": "cancel", "_selected_action": [n.pk]}, HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(page, texts["title"], texts["question"], texts["cancel"])
    assert texts["button"] in page.content.decode()
    done = client.post(url, {"action": "cancel", "_selected_action": [n.pk], "confirm": "yes"}, follow=True,
                       HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(done, texts["done"])
    resent = client.post(url, {"action": "resend", "_selected_action": [n.pk], "confirm": "yes"}, follow=True,
                         HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(resent, texts["resent"])


BROADCAST_TEXTS = {
    "fa": {"actions": ("شروع ارسال پیام‌های همگانی پیش‌نویسِ انتخاب‌شده…", "توقف موقت پیام‌های همگانی انتخاب‌شده",
                       "ادامهٔ ارسال پیام‌های همگانی انتخاب‌شده", "لغو پیام‌های همگانی انتخاب‌شده…"),
           "title": "شروع ارسال پیام‌های همگانی", "question": "این پیام‌های همگانی ارسال می‌شوند ({fsi}#{id}: 2 گیرنده{pdi}).",
           "button": 'value="ارسال"', "paused": "0 پیام همگانی موقتاً متوقف شد.",
           "refused": "پیام همگانی #{id}: {fsi}"},
    "en": {"actions": ("Start the selected draft broadcasts…", "Pause the selected broadcasts",
                       "Resume the selected broadcasts", "Cancel the selected broadcasts…"),
           "title": "Start broadcasts", "question": "These broadcasts will be sent (#{id}: 2 recipients).",
           "button": 'value="Send"', "paused": "0 broadcasts paused.", "refused": "Broadcast #{id}: "},
}


@pytest.mark.parametrize("language", ["fa", "en"])
def test_admin_broadcast_actions_read_in_the_operators_language(client, staff, fake_telegram, language):
    texts = BROADCAST_TEXTS[language]
    client.force_login(staff)
    CustomerFactory.create_batch(2)
    b = services.broadcast_create(created_by=None, text="To everyone")
    url = "/admin/notifications/broadcast/"
    assert_shows(client.get(url, HTTP_ACCEPT_LANGUAGE=language), *texts["actions"])
    page = client.post(url, {"action": "start", "_selected_action": [b.pk]}, HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(page, texts["title"], texts["question"].format(id=b.pk, fsi=FSI, pdi=PDI))
    assert texts["button"] in page.content.decode()
    paused = client.post(url, {"action": "pause", "_selected_action": [b.pk]}, follow=True,
                         HTTP_ACCEPT_LANGUAGE=language)  # a draft cannot be paused: refused, with the reason
    assert_shows(paused, texts["paused"], texts["refused"].format(id=b.pk, fsi=FSI))
