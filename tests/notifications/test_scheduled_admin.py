"""Scheduled messages in the admin: made and changed (Jalali dates typed and shown) until they
start, the calendar of upcoming occurrences by day, what was sent per occurrence, cancel and
preview behind a confirmation, and who may do what."""

import pytest
import time_machine
from django.contrib.auth.models import Permission, User

from notifications import services
from notifications.models import ScheduledMessage
from tests.factories import CustomerFactory
from tests.notifications.scheduling import run_at, tehran

pytestmark = pytest.mark.django_db
URL = "/admin/notifications/scheduledmessage/"
FORM = {"text": "Holiday <b>sale</b> tomorrow", "media_type": "", "media": "", "buttons": "[]", "audience": "all",
        "audience_params": "{}", "starts_at": "1404-12-20 10:00", "time_zone": "Asia/Tehran", "repeat": "once",
        "interval": "1", "month_day": "", "calendar": "jalali", "rrule": "", "until": "", "count": "",
        "operator_chat_id": ""}


@pytest.fixture
def clock():
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False) as traveller:
        yield traveller


def test_add_change_and_read_in_jalali(client, staff, clock):
    client.force_login(staff)
    assert client.get(f"{URL}add/").status_code == 200
    response = client.post(f"{URL}add/", {**FORM, "repeat": "weekly", "weekdays": ["0", "3"], "count": "4",
                                          "pin": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302, response.content.decode()[-3000:]
    message = ScheduledMessage.objects.get()
    assert message.status == "scheduled" and message.created_by == "admin:ops"
    assert message.starts_at == tehran(2026, 3, 11, 10, 0) and message.weekdays == [0, 3] and message.pin
    page = client.get(f"{URL}{message.pk}/change/", HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert 'value="1404/12/20 10:00"' in page  # shown in the reader's calendar
    assert "1404/12/21 10:00" in page  # the next occurrences: Thursday 12 March is 1404/12/21
    bad = client.post(f"{URL}{message.pk}/change/", {**FORM, "text": "<b>oops", "repeat": "weekly",
                                                      "weekdays": ["0", "3"], "count": "4"}, HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 200 and "not closed" in bad.content.decode()
    ok = client.post(f"{URL}{message.pk}/change/", {**FORM, "text": "Changed", "repeat": "weekly", "weekdays": ["0"],
                                                     "count": "4", "pin": "on"})
    assert ok.status_code == 302
    message.refresh_from_db()
    assert message.text == "Changed" and message.weekdays == [0]
    listing = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Every week on Monday, 4 times" in listing and "2026-03-16 10:00" in listing


def test_a_csv_file_of_telegram_ids(client, staff, clock):
    from django.core.files.uploadedfile import SimpleUploadedFile

    listed = CustomerFactory.create_batch(2)
    client.force_login(staff)
    csv = SimpleUploadedFile("ids.csv", f"telegram_id\n{listed[0].telegram_id}\n{listed[1].telegram_id}\n".encode(),
                             content_type="text/csv")
    response = client.post(f"{URL}add/", {**FORM, "ids_file": csv})
    assert response.status_code == 302
    message = ScheduledMessage.objects.get()
    assert message.audience == "telegram_ids" and message.audience_params == {"ids": [c.telegram_id for c in listed]}


def test_a_started_message_can_no_longer_be_changed(client, staff, clock, fake_telegram,
                                                     django_capture_on_commit_callbacks):
    CustomerFactory.create_batch(2)
    message = services.scheduled_create(text="Daily", starts_at="2026-03-01 10:00", repeat="daily", count=2)
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    clock.move_to(tehran(2026, 3, 1, 10, 5))
    client.force_login(staff)
    page = client.get(f"{URL}{message.pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="text"' not in page  # read only
    assert "2 recipients: 2 sent, 0 failed, 0 blocked, 0 waiting" in page and "Asia/Tehran: Queued (2)" in page
    refused = client.post(f"{URL}{message.pk}/change/", {**FORM, "text": "Too late"})
    assert refused.status_code == 403
    message.refresh_from_db()
    assert message.text == "Daily"


def test_the_calendar_of_upcoming_occurrences(client, staff, clock):
    services.scheduled_create(text="Weekly tip", starts_at="2026-03-02 10:00", repeat="weekly", local_time=True)
    services.scheduled_create(text="Nowruz sale", starts_at="1404-12-29 10:00", pin=True)
    services.scheduled_create(text="Far away", starts_at="2026-05-01 10:00")
    client.force_login(staff)
    assert 'href="/admin/notifications/scheduledmessage/calendar/"' in client.get(URL).content.decode()
    page = client.get(f"{URL}calendar/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count("Weekly tip") == 5  # 2, 9, 16, 23 and 30 March: within 31 days
    assert "Monday 2026-03-02" in page and "Friday 2026-03-20" in page and "Nowruz sale" in page
    assert "Far away" not in page and "own clock" in page
    assert page.index("Monday 2026-03-02") < page.index("Friday 2026-03-20")
    persian = client.get(f"{URL}calendar/", HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert "1404/12/29" in persian and "جمعه" in persian


def test_cancel_and_preview_are_confirmed(client, staff, clock, fake_telegram):
    message = services.scheduled_create(text="Sale", starts_at="2026-03-02 10:00", repeat="daily")
    client.force_login(staff)
    asked = client.post(URL, {"action": "cancel", "_selected_action": [message.pk]}, HTTP_ACCEPT_LANGUAGE="en")
    assert asked.status_code == 200 and "Cancel them" in asked.content.decode()
    message.refresh_from_db()
    assert message.status == "scheduled"
    client.post(URL, {"action": "cancel", "_selected_action": [message.pk], "confirm": "yes"})
    message.refresh_from_db()
    assert message.status == "cancelled"
    client.post(URL, {"action": "preview", "_selected_action": [message.pk], "confirm": "yes", "chat_id": "9002"})
    assert fake_telegram.calls_to("sendMessage", 9002)[-1].params["text"] == "Sale"


def test_staff_who_may_only_view_see_but_do_not_schedule(client, clock):
    services.scheduled_create(text="Sale", starts_at="2026-03-02 10:00")
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_scheduledmessage", "add_scheduledmessage",
                                                                         "change_scheduledmessage"]))
    client.force_login(viewer)
    page = client.get(URL)
    assert page.status_code == 200 and b'value="cancel"' not in page.content
    assert client.get(f"{URL}calendar/").status_code == 200
    assert client.get(f"{URL}add/").status_code == 403  # scheduling sends: notifications.schedule_message
    assert client.post(f"{URL}add/", FORM).status_code == 403
    assert ScheduledMessage.objects.count() == 1
