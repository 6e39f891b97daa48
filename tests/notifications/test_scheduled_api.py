"""The staff API of scheduled messages: create (with the preview), list and detail with the next
occurrences and what was sent per occurrence, change until it starts, cancel; permissions; the
documented schema."""

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from notifications.models import ScheduledMessage
from tests.factories import CustomerFactory
from tests.notifications.scheduling import run_at, tehran

pytestmark = pytest.mark.django_db
URL = "/api/v1/scheduled-messages/"


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # a request may ask for another
    return client


@pytest.fixture
def clock():
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False) as traveller:
        yield traveller


def test_create_a_weekly_message_with_its_next_occurrences_and_the_preview(api, clock, fake_telegram):
    response = api.post(URL, {
        "text": "Weekly <b>tip</b>", "audience": "language", "audience_params": {"language": "fa"},
        "starts_at": "1404-12-11 10:00", "repeat": "weekly", "weekdays": ["MO", "TH"], "count": 4, "pin": True,
        "buttons": [[["Shop", "https://example.com/shop"]]],
        "operator_chat_id": 9001}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "scheduled" and data["starts_at"] == "2026-03-02T10:00:00+03:30"  # 1404/12/11 = Monday 2 March
    assert data["weekdays"] == ["MO", "TH"] and data["pin"] is True and data["created_by"] == "api:ops"
    assert data["buttons"] == [[["Shop", "url:https://example.com/shop"]]]
    assert data["repeat_description"] == "Every week on Monday, Thursday, 4 times"
    assert [o["wall"] for o in data["next_occurrences"]] == [
        "2026-03-02T10:00:00", "2026-03-05T10:00:00", "2026-03-09T10:00:00", "2026-03-12T10:00:00"]
    assert data["next_occurrences"][0]["at"] == "2026-03-02T10:00:00+03:30"
    assert data["occurrences"] == [] and data["audience_label"].startswith("Customers of one language")
    preview = fake_telegram.calls_to("sendMessage", 9001)[-1].params
    assert preview["text"] == "Weekly <b>tip</b>" and preview["parse_mode"] == "HTML"


def test_jalali_dates_shown_to_a_persian_reader(api, clock):
    made = api.post(URL, {"text": "x", "starts_at": "2026-03-21T10:00:00+03:30", "repeat": "daily", "count": 2},
                    format="json").json()
    data = api.get(f"{URL}{made['id']}/", HTTP_ACCEPT_LANGUAGE="fa").json()
    assert data["starts_at_display"] == "1405/01/01 10:00"
    assert [o["display"] for o in data["next_occurrences"]] == ["1405/01/01 10:00", "1405/01/02 10:00"]
    assert api.get(f"{URL}{made['id']}/").json()["next_occurrences"][0]["display"] == "2026-03-21 10:00"


def test_what_was_sent_per_occurrence(api, clock, fake_telegram, django_capture_on_commit_callbacks):
    customers = CustomerFactory.create_batch(2)
    fake_telegram.block(customers[1].telegram_id)
    made = api.post(URL, {"text": "Daily", "starts_at": "2026-03-01 10:00", "repeat": "daily", "count": 3},
                    format="json").json()
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    clock.move_to(tehran(2026, 3, 1, 10, 5))
    data = api.get(f"{URL}{made['id']}/").json()
    assert data["status"] == "running"
    [occurrence] = data["occurrences"]
    assert occurrence["wall"] == "2026-03-01T10:00:00" and occurrence["status"] == "done"
    assert (occurrence["recipients"], occurrence["sent"], occurrence["blocked"], occurrence["pending"]) == (2, 1, 1, 0)
    assert occurrence["batches"] == [{"zone": "Asia/Tehran", "due_at": "2026-03-01T10:00:00+03:30", "status": "queued",
                                      "recipients": 2, "note": ""}]
    assert [o["wall"] for o in data["next_occurrences"]] == ["2026-03-02T10:00:00", "2026-03-03T10:00:00"]
    listed = api.get(URL, {"status": "running"}).json()
    assert [m["id"] for m in listed["results"]] == [made["id"]]
    assert api.get(URL, {"status": "nonsense"}).status_code == 400


def test_patch_until_it_starts_then_refused(api, clock, fake_telegram, django_capture_on_commit_callbacks):
    CustomerFactory()
    made = api.post(URL, {"text": "Draft", "starts_at": "2026-03-01 10:00"}, format="json").json()
    changed = api.patch(f"{URL}{made['id']}/", {"text": "Final", "starts_at": "2026-03-01 11:00", "urgent": True},
                        format="json")
    assert changed.status_code == 200
    assert changed.json()["text"] == "Final" and changed.json()["urgent"] is True
    assert changed.json()["next_occurrences"][0]["wall"] == "2026-03-01T11:00:00"
    ruled = api.patch(f"{URL}{made['id']}/", {"rrule": "FREQ=DAILY;COUNT=2"}, format="json").json()
    assert ruled["repeat"] == "rrule" and [o["wall"] for o in ruled["next_occurrences"]] == [
        "2026-03-01T11:00:00", "2026-03-02T11:00:00"]
    api.patch(f"{URL}{made['id']}/", {"repeat": "once"}, format="json")
    bad = api.patch(f"{URL}{made['id']}/", {"text": "<b>unclosed"}, format="json")
    assert bad.status_code == 400 and "not closed" in bad.json()["detail"]
    run_at(tehran(2026, 3, 1, 11, 0), django_capture_on_commit_callbacks)
    late = api.patch(f"{URL}{made['id']}/", {"text": "Too late"}, format="json")
    assert late.status_code == 400 and "can no longer be changed" in late.json()["detail"]
    assert api.put(f"{URL}{made['id']}/", {"text": "x"}, format="json").status_code == 405


def test_cancel(api, clock):
    made = api.post(URL, {"text": "Soon", "starts_at": "2026-03-01 10:00", "repeat": "daily"}, format="json").json()
    response = api.post(f"{URL}{made['id']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["next_occurrences"] == []
    assert api.post(f"{URL}{made['id']}/cancel/").status_code == 400
    assert api.post(f"{URL}999999/cancel/").status_code == 404


def test_preview_on_demand(api, clock, fake_telegram):
    made = api.post(URL, {"text": "A photo", "media": "AgACphoto", "starts_at": "2026-03-01 10:00"}, format="json").json()
    assert made["media_type"] == "photo"
    assert api.post(f"{URL}{made['id']}/preview/", {}, format="json").status_code == 400  # no operator chat given
    response = api.post(f"{URL}{made['id']}/preview/", {"chat_id": 9002}, format="json")
    assert response.status_code == 200 and response.json()["chat_id"] == 9002
    assert fake_telegram.calls_to("sendPhoto", 9002)[-1].params["photo"] == "AgACphoto"
    assert api.post(f"{URL}{made['id']}/preview/", {"chat_id": 12345}, format="json").status_code == 400


@pytest.mark.parametrize(("body", "field"), [
    ({"text": "x", "starts_at": "tomorrow"}, "detail"),
    ({"text": "x", "starts_at": "2026-03-01 10:00", "audience": "nobody"}, "audience"),
    ({"text": "x", "starts_at": "2026-03-01 10:00", "audience": "expiring"}, "detail"),
    ({"text": "x", "starts_at": "2026-03-01 10:00", "repeat": "rrule", "rrule": "FREQ=MINUTELY"}, "detail"),
    ({"text": "x", "starts_at": "2026-03-01 10:00", "interval": 0, "repeat": "daily"}, "interval"),
    ({"text": "x", "starts_at": "2026-03-01 10:00", "operator_chat_id": 5}, "detail"),
])
def test_refusals_are_400s_and_write_nothing(api, clock, body, field):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not ScheduledMessage.objects.exists()


def test_permissions(clock):
    assert APIClient().get(URL).status_code in (401, 403)
    clerk = User.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_scheduledmessage", "add_scheduledmessage",
                                                                        "change_scheduledmessage"]))
    client = APIClient()
    client.force_authenticate(clerk)
    assert client.get(URL).status_code == 200
    body = {"text": "x", "starts_at": "2026-03-01 10:00"}
    assert client.post(URL, body, format="json").status_code == 403  # scheduling sends messages: its own permission
    clerk.user_permissions.add(Permission.objects.get(codename="schedule_message"))
    clerk = User.objects.get(pk=clerk.pk)
    client.force_authenticate(clerk)
    made = client.post(URL, body, format="json")
    assert made.status_code == 201
    clerk.user_permissions.remove(Permission.objects.get(codename="schedule_message"))
    client.force_authenticate(User.objects.get(pk=clerk.pk))
    assert client.post(f"{URL}{made.json()['id']}/cancel/").status_code == 403


def test_the_schema_documents_the_endpoints(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/scheduled-messages/"])
    assert {"get", "patch"} <= set(paths["/api/v1/scheduled-messages/{id}/"])
    assert "post" in paths["/api/v1/scheduled-messages/{id}/cancel/"]
    write = schema["components"]["schemas"]["ScheduledWrite"]["properties"]
    assert {"text", "audience", "audience_params", "starts_at", "rrule", "repeat", "local_time", "pin", "urgent"} <= set(write)
    read = schema["components"]["schemas"]["ScheduledMessage"]["properties"]
    assert {"next_occurrences", "occurrences"} <= set(read)
