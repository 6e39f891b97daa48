"""The scheduled messages' due job with a frozen clock: occurrences sent once at their time
(across occurrence boundaries, month ends, the Jalali new year), at each customer's local time
in Tehran (no DST) and Berlin (DST), missed ones on recovery (the latest within the grace period,
never a burst, the admins told once), quiet hours unless urgent, pins, media, cancel and edit."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone, translation

from notifications import services
from notifications.models import Notification, NotificationSettings, ScheduledMessage, ScheduledOccurrence
from tests.factories import CustomerFactory
from tests.notifications.scheduling import deliveries, run_at, schedule, tehran, utc

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english(settings):
    """The admins (9001, 9002: no customer record) read the shop's language: English here."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def test_a_weekly_message_goes_once_at_each_occurrence(fake_telegram, django_capture_on_commit_callbacks):
    customers = CustomerFactory.create_batch(3)
    with time_machine.travel(tehran(2026, 3, 1, 12, 0), tick=False):  # a Sunday
        message = schedule(text="Weekly <b>tip</b>", starts_at="2026-03-02 10:00", repeat="weekly", weekdays="MO",
                           count=3)
    assert message.status == "scheduled" and message.next_at == tehran(2026, 3, 2, 10, 0)
    assert run_at(tehran(2026, 3, 2, 9, 59), django_capture_on_commit_callbacks).opened == 0
    result = run_at(tehran(2026, 3, 2, 10, 0, 20), django_capture_on_commit_callbacks)
    assert (result.opened, result.queued, result.recipients) == (1, 1, 3)
    run_at(tehran(2026, 3, 2, 10, 1), django_capture_on_commit_callbacks)  # the beat again: nothing more
    run_at(tehran(2026, 3, 5, 10, 0), django_capture_on_commit_callbacks)
    assert set(deliveries(fake_telegram, "Weekly <b>tip</b>").values()) == {1}
    assert fake_telegram.calls_to("sendMessage", customers[0].telegram_id)[0].params["parse_mode"] == "HTML"
    for day in (9, 16, 23):
        run_at(tehran(2026, 3, day, 10, 0, 30), django_capture_on_commit_callbacks)
        run_at(tehran(2026, 3, day, 10, 1, 30), django_capture_on_commit_callbacks)
    sent = deliveries(fake_telegram, "Weekly <b>tip</b>")
    assert sent == {c.telegram_id: 3 for c in customers}  # count=3: the 23rd is not an occurrence
    message.refresh_from_db()
    assert message.status == "done" and message.next_at is None
    assert list(message.occurrences.values_list("wall", "status", "recipients")) == [
        ("2026-03-02T10:00:00", "done", 3), ("2026-03-09T10:00:00", "done", 3), ("2026-03-16T10:00:00", "done", 3)]


def test_monthly_on_the_31st_across_month_ends(fake_telegram, django_capture_on_commit_callbacks):
    CustomerFactory()
    with time_machine.travel(tehran(2026, 1, 20, 12), tick=False):
        message = schedule(text="Month end", starts_at="2026-01-31 20:00", repeat="monthly", month_day=31,
                           calendar="gregorian")
    for moment in (tehran(2026, 1, 31, 20, 0), tehran(2026, 2, 28, 19, 59), tehran(2026, 2, 28, 20, 0),
                   tehran(2026, 3, 1, 20, 0), tehran(2026, 3, 31, 20, 0), tehran(2026, 4, 30, 20, 0)):
        run_at(moment, django_capture_on_commit_callbacks)
    walls = list(message.occurrences.values_list("wall", flat=True))
    assert walls == ["2026-01-31T20:00:00", "2026-02-28T20:00:00", "2026-03-31T20:00:00", "2026-04-30T20:00:00"]
    assert sum(deliveries(fake_telegram, "Month end").values()) == 4


def test_the_jalali_new_year(fake_telegram, django_capture_on_commit_callbacks):
    """Monthly on the 1st of the Jalali month, given and read in Jalali: Nowruz 1405 is 2026-03-21."""
    CustomerFactory()
    with time_machine.travel(tehran(2026, 3, 10, 12), tick=False):
        message = schedule(text="Happy new month", starts_at="1404/12/20 10:00", repeat="monthly", month_day=1,
                           calendar="jalali", until="1405/02/15")
    run_at(tehran(2026, 3, 20, 10, 0), django_capture_on_commit_callbacks)  # 1404/12/29: the year's last day
    assert not deliveries(fake_telegram, "Happy new month")
    run_at(tehran(2026, 3, 21, 10, 0), django_capture_on_commit_callbacks)  # 1405/01/01
    assert sum(deliveries(fake_telegram, "Happy new month").values()) == 1
    run_at(tehran(2026, 4, 21, 10, 0), django_capture_on_commit_callbacks)  # 1405/02/01
    message.refresh_from_db()
    assert list(message.occurrences.values_list("wall", flat=True)) == ["2026-03-21T10:00:00", "2026-04-21T10:00:00"]
    assert message.status == "done"  # until 1405/02/15: no more


def test_each_customer_at_their_own_ten_o_clock_in_tehran_and_berlin_across_dst(
        fake_telegram, django_capture_on_commit_callbacks):
    """Tehran has no DST (UTC+3:30); Berlin moves from UTC+1 to UTC+2 on 2026-03-29."""
    in_tehran = CustomerFactory(time_zone="")  # the shop's zone
    in_berlin = CustomerFactory(time_zone="Europe/Berlin")
    lost = CustomerFactory(time_zone="Mars/Olympus")  # an unknown zone: the shop's
    with time_machine.travel(utc(2026, 3, 27, 12), tick=False):
        message = schedule(text="Good morning", starts_at="2026-03-28 10:00", repeat="daily", count=2, local_time=True)

    def received():
        got = deliveries(fake_telegram, "Good morning")
        return got[in_tehran.telegram_id], got[in_berlin.telegram_id], got[lost.telegram_id]

    run_at(utc(2026, 3, 28, 6, 29), django_capture_on_commit_callbacks)
    assert received() == (0, 0, 0)
    run_at(utc(2026, 3, 28, 6, 30), django_capture_on_commit_callbacks)  # 10:00 in Tehran
    assert received() == (1, 0, 1)
    run_at(utc(2026, 3, 28, 8, 59), django_capture_on_commit_callbacks)
    assert received() == (1, 0, 1)
    run_at(utc(2026, 3, 28, 9, 0), django_capture_on_commit_callbacks)  # 10:00 CET
    assert received() == (1, 1, 1)
    run_at(utc(2026, 3, 29, 6, 30), django_capture_on_commit_callbacks)  # 10:00 in Tehran, the next day
    assert received() == (2, 1, 2)
    run_at(utc(2026, 3, 29, 8, 0), django_capture_on_commit_callbacks)  # 10:00 CEST: an hour earlier in UTC
    assert received() == (2, 2, 2)
    run_at(utc(2026, 3, 29, 9, 0), django_capture_on_commit_callbacks)
    run_at(utc(2026, 3, 30, 12, 0), django_capture_on_commit_callbacks)  # every clock has passed both
    assert received() == (2, 2, 2)
    message.refresh_from_db()
    assert message.status == "done"
    first = message.occurrences.get(wall="2026-03-28T10:00:00")
    assert first.status == "done" and first.recipients == 3 and first.broadcast.total == 3
    assert sorted(first.batches.values_list("zone", "due_at")) == [
        ("Asia/Tehran", utc(2026, 3, 28, 6, 30)), ("Europe/Berlin", utc(2026, 3, 28, 9, 0))]


def test_missed_occurrences_on_recovery(fake_telegram, settings, django_capture_on_commit_callbacks):
    """Down for days: within the grace period only the latest missed occurrence goes out, the
    older ones are skipped; beyond it nothing goes; the admins are told once per outage."""
    settings.SCHEDULED_MESSAGES_GRACE_MINUTES = 60
    customer = CustomerFactory()
    with time_machine.travel(tehran(2026, 3, 1, 8), tick=False):
        message = schedule(text="Daily news", starts_at="2026-03-01 10:00", repeat="daily")
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    # nothing runs from the 1st to the 4th, 10:20: the 2nd and the 3rd are missed, the 4th is 20 minutes late
    run_at(tehran(2026, 3, 4, 10, 20), django_capture_on_commit_callbacks)
    run_at(tehran(2026, 3, 4, 10, 21), django_capture_on_commit_callbacks)
    assert deliveries(fake_telegram, "Daily news") == {customer.telegram_id: 2}
    states = dict(message.occurrences.values_list("wall", "status"))
    assert states == {"2026-03-01T10:00:00": "done", "2026-03-02T10:00:00": "skipped",
                      "2026-03-03T10:00:00": "skipped", "2026-03-04T10:00:00": "done"}
    alerts = Notification.objects.filter(type="admin_alert", source="alert:scheduled_missed")
    assert alerts.count() == 2  # one per admin (9001, 9002), once
    assert "missed 2 occurrences" in alerts.first().text and "was sent" in alerts.first().text
    # down again, and back two hours after the 6th's time: the 5th and the 6th are skipped, nothing is sent
    run_at(tehran(2026, 3, 6, 12, 0), django_capture_on_commit_callbacks)
    run_at(tehran(2026, 3, 6, 12, 1), django_capture_on_commit_callbacks)
    assert deliveries(fake_telegram, "Daily news") == {customer.telegram_id: 2}
    assert alerts.count() == 4 and "not sent late" in alerts.order_by("-id").first().text
    run_at(tehran(2026, 3, 7, 10, 0), django_capture_on_commit_callbacks)  # back to normal
    assert deliveries(fake_telegram, "Daily news") == {customer.telegram_id: 3}


def test_a_long_outage_is_no_burst(fake_telegram, settings, django_capture_on_commit_callbacks):
    settings.SCHEDULED_MESSAGES_GRACE_MINUTES = 120
    CustomerFactory()
    with time_machine.travel(tehran(2026, 1, 1, 8), tick=False):
        message = schedule(text="Every six hours", starts_at="2026-01-01 09:00", repeat="rrule", rrule="FREQ=HOURLY;INTERVAL=6")
    result = run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)  # two months later
    assert result.queued == 1 and sum(deliveries(fake_telegram, "Every six hours").values()) == 1
    assert message.occurrences.filter(status="done").get().wall == "2026-03-01T09:00:00"
    assert message.occurrences.filter(status="skipped").count() == 99  # the latest 100 are kept as rows
    alert = Notification.objects.filter(source="alert:scheduled_missed").first()
    assert "missed 236 occurrences" in alert.text  # 3 on Jan 1st, 58 days × 4, 03:00 on Mar 1st: all counted


def test_quiet_hours_defer_it_unless_urgent(fake_telegram, django_capture_on_commit_callbacks):
    sleepy = CustomerFactory()
    NotificationSettings.objects.create(customer=sleepy, quiet_start="22:00", quiet_end="08:00")
    with time_machine.travel(tehran(2026, 3, 1, 12), tick=False):
        schedule(text="Maintenance tonight", starts_at="2026-03-01 23:00")
        schedule(text="Down for maintenance now", starts_at="2026-03-01 23:30", urgent=True)
    run_at(tehran(2026, 3, 1, 23, 0), django_capture_on_commit_callbacks)
    run_at(tehran(2026, 3, 1, 23, 30), django_capture_on_commit_callbacks)
    assert not deliveries(fake_telegram, "Maintenance tonight")
    assert deliveries(fake_telegram, "Down for maintenance now") == {sleepy.telegram_id: 1}
    deferred = Notification.objects.get(text="Maintenance tonight")
    assert deferred.deferred_reason == "quiet_hours" and deferred.scheduled_for == tehran(2026, 3, 2, 8, 0)
    with time_machine.travel(tehran(2026, 3, 2, 8, 0, 5), tick=False):
        services.notification_process()
    assert deliveries(fake_telegram, "Maintenance tonight") == {sleepy.telegram_id: 1}


def test_pinned_each_time_and_the_one_before_unpinned(fake_telegram, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    blocked = CustomerFactory()
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        message = schedule(text="📌 Today's servers", starts_at="2026-03-01 10:00", repeat="daily", pin=True)
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    first = Notification.objects.get(chat_id=customer.telegram_id, broadcast__scheduled_occurrence__wall="2026-03-01T10:00:00")
    assert fake_telegram.pinned_in(customer.telegram_id) == [first.telegram_message_id]
    pin = fake_telegram.calls_to("pinChatMessage", customer.telegram_id)[0].params
    assert pin["disable_notification"] is True
    fake_telegram.block(blocked.telegram_id)
    run_at(tehran(2026, 3, 2, 10, 0), django_capture_on_commit_callbacks)
    second = Notification.objects.get(chat_id=customer.telegram_id, broadcast__scheduled_occurrence__wall="2026-03-02T10:00:00")
    assert fake_telegram.pinned_in(customer.telegram_id) == [second.telegram_message_id]
    assert fake_telegram.calls_to("unpinChatMessage", customer.telegram_id)[0].params["message_id"] == first.telegram_message_id
    # the customer unpins it themselves; the next day's unpin finds nothing and that is fine
    fake_telegram.pinned[customer.telegram_id].clear()
    run_at(tehran(2026, 3, 3, 10, 0), django_capture_on_commit_callbacks)
    third = Notification.objects.get(chat_id=customer.telegram_id, broadcast__scheduled_occurrence__wall="2026-03-03T10:00:00")
    assert fake_telegram.pinned_in(customer.telegram_id) == [third.telegram_message_id]
    states = list(message.pins.filter(chat_id=customer.telegram_id).order_by("pk").values_list("status", flat=True))
    assert states == ["unpinned", "unpinned", "pinned"]
    assert list(message.pins.filter(chat_id=blocked.telegram_id).values_list("status", flat=True)) == ["pinned"]


def test_a_pin_that_telegram_delays_is_retried_by_the_due_job(fake_telegram, django_capture_on_commit_callbacks, settings):
    settings.TELEGRAM_MAX_INLINE_RETRY_AFTER = 1
    customer = CustomerFactory()
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        message = schedule(text="Pinned later", starts_at="2026-03-01 10:00", pin=True)
    fake_telegram.fail_next("pinChatMessage", status=429, retry_after=30)
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    assert fake_telegram.pinned_in(customer.telegram_id) == []
    assert message.pins.get().status == "pending"
    run_at(tehran(2026, 3, 1, 10, 0, 40), django_capture_on_commit_callbacks)
    assert message.pins.get().status == "pinned" and len(fake_telegram.pinned_in(customer.telegram_id)) == 1


@pytest.mark.parametrize(("media_type", "method", "field"), [
    ("photo", "sendPhoto", "photo"), ("video", "sendVideo", "video"), ("document", "sendDocument", "document")])
def test_media_with_a_caption_and_link_buttons(fake_telegram, django_capture_on_commit_callbacks, media_type, method, field):
    customer = CustomerFactory()
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        schedule(text="Our <i>new</i> app", media_type=media_type, media="BAACAgQAAxkBAAIB", starts_at="2026-03-01 10:00",
                 buttons=[[["Download", "https://example.com/app"]]])
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    call = fake_telegram.calls_to(method, customer.telegram_id)[0].params
    assert call[field] == "BAACAgQAAxkBAAIB" and call["caption"] == "Our <i>new</i> app" and call["parse_mode"] == "HTML"
    assert call["reply_markup"]["inline_keyboard"] == [[{"text": "Download", "url": "https://example.com/app"}]]


def test_the_preview_goes_to_the_operator_exactly_as_customers_see_it(fake_telegram):
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        message = schedule(text="Hello <b>all</b>", media_type="video", media="BAACvideo", starts_at="2026-03-02 10:00",
                           buttons=[[["Site", "url:https://example.com"]]], operator_chat_id=9001)
    services.scheduled_preview(message_id=message.pk, chat_id=9001)
    call = fake_telegram.calls_to("sendVideo", 9001)[0].params
    assert call["caption"] == "Hello <b>all</b>" and call["video"] == "BAACvideo"
    assert call["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://example.com"


def test_the_operator_gets_a_progress_message_with_pause_and_cancel(fake_telegram, django_capture_on_commit_callbacks):
    CustomerFactory.create_batch(2)
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        message = schedule(text="With progress", starts_at="2026-03-01 10:00", operator_chat_id=9001)
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    occurrence = message.occurrences.get()
    b = occurrence.broadcast
    assert b.progress_chat_id == 9001 and b.status == "done"
    texts = [c.params.get("text", "") for c in fake_telegram.calls if c.chat_id == 9001]
    assert any(f"Scheduled message #{message.pk}" in t for t in texts)
    assert "Sent: 2" in fake_telegram.calls_to("editMessageText", 9001)[-1].params["text"]


def test_audiences_are_resolved_when_it_is_sent(fake_telegram, django_capture_on_commit_callbacks):
    early = CustomerFactory(language="en")
    CustomerFactory(language="fa")
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        schedule(text="English only", starts_at="2026-03-01 10:00", audience="language", audience_params={"language": "en"})
    late = CustomerFactory(language="en")  # joined after it was scheduled
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    assert set(deliveries(fake_telegram, "English only")) == {early.telegram_id, late.telegram_id}


def test_cancel_stops_what_is_left_and_edits_only_until_it_starts(fake_telegram, django_capture_on_commit_callbacks):
    CustomerFactory()
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        message = schedule(text="Draft text", starts_at="2026-03-01 10:00", repeat="daily")
        services.scheduled_update(message_id=message.pk, text="Final text", starts_at="2026-03-01 11:00")
    message.refresh_from_db()
    assert message.next_at == tehran(2026, 3, 1, 11, 0)
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    assert not deliveries(fake_telegram, "Final text")
    run_at(tehran(2026, 3, 1, 11, 0), django_capture_on_commit_callbacks)
    assert sum(deliveries(fake_telegram, "Final text").values()) == 1
    with pytest.raises(services.NotificationError, match="can no longer be changed"):
        services.scheduled_update(message_id=message.pk, text="Too late")
    services.scheduled_cancel(message_id=message.pk)
    run_at(tehran(2026, 3, 2, 11, 0), django_capture_on_commit_callbacks)
    assert sum(deliveries(fake_telegram, "Final text").values()) == 1
    message.refresh_from_db()
    assert message.status == "cancelled" and message.occurrences.count() == 1
    with pytest.raises(services.NotificationError):
        services.scheduled_cancel(message_id=message.pk)


def test_cancelling_an_occurrence_being_sent_in_zones_stops_the_later_zones(fake_telegram, django_capture_on_commit_callbacks):
    CustomerFactory(time_zone="Asia/Tehran")
    in_berlin = CustomerFactory(time_zone="Europe/Berlin")
    with time_machine.travel(utc(2026, 3, 1), tick=False):
        message = schedule(text="Zones", starts_at="2026-03-02 10:00", local_time=True)
    run_at(utc(2026, 3, 2, 6, 30), django_capture_on_commit_callbacks)
    occurrence = message.occurrences.get()
    assert occurrence.broadcast.status == "running"  # Berlin's turn is still to come
    services.broadcast_cancel(broadcast_id=occurrence.broadcast_id)  # the operator's "Cancel" on the progress message
    run_at(utc(2026, 3, 2, 9, 0), django_capture_on_commit_callbacks)
    run_at(utc(2026, 3, 3, 0, 0), django_capture_on_commit_callbacks)
    assert in_berlin.telegram_id not in deliveries(fake_telegram, "Zones")
    occurrence.refresh_from_db()
    assert occurrence.status == "cancelled"


@pytest.mark.parametrize(("values", "error"), [
    ({"text": ""}, "needs a text"),
    ({"text": "<b>bold"}, "not closed"),
    ({"text": "a < b"}, "&lt;"),
    ({"text": "<script>x</script>"}, "not one Telegram knows"),
    ({"text": "x" * 4097}, "too long"),
    ({"text": "x" * 1025, "media": "AgAC"}, "too long"),
    ({"starts_at": "2026-02-28 10:00"}, "has passed"),
    ({"starts_at": "1404/12/30 10:00"}, "no such date"),
    ({"audience": "nobody"}, "Unknown audience"),
    ({"audience": "expiring"}, "needs"),
    ({"audience": "expiring", "audience_params": {"days": 0}}, "from 1 to 365"),
    ({"audience": "telegram_ids", "audience_params": {"ids": "id,name\n"}}, "No Telegram id"),
    ({"repeat": "weekly", "weekdays": "XX"}, "Unknown weekday"),
    ({"repeat": "rrule"}, "Give the RRULE"),
    ({"repeat": "daily", "until": "2026-02-01"}, "before the first time"),
    ({"buttons": [["Site", "javascript:alert(1)"]]}, "Buttons are rows"),
    ({"operator_chat_id": 12345}, "admin's chat only"),
])
def test_what_is_refused(values, error):
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        defaults = {"text": "Hi", "starts_at": "2026-03-02 10:00"}
        with pytest.raises(services.NotificationError, match=error):
            schedule(**{**defaults, **values})
    assert not ScheduledMessage.objects.exists()


def test_the_command_runs_the_due_job(fake_telegram, capsys):
    customer = CustomerFactory()
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        schedule(text="From the command", starts_at="2026-03-01 10:00")
    with time_machine.travel(tehran(2026, 3, 1, 10, 0, 30), tick=False):
        call_command("scheduled_messages_run", "--send")
    out = capsys.readouterr().out
    assert "1 occurrence(s) opened" in out and "Sent now: 1" in out
    assert deliveries(fake_telegram, "From the command") == {customer.telegram_id: 1}
    assert ScheduledOccurrence.objects.get().status == "done"


def test_the_beat_job_is_registered():
    from django_celery_beat.models import PeriodicTask

    from vpnbot.core.schedules import ensure_schedules

    ensure_schedules()
    task = PeriodicTask.objects.get(name="notifications: run scheduled messages")
    assert task.task == "notifications.tasks.run_scheduled_messages" and task.interval.every == 60
    from notifications.tasks import run_scheduled_messages

    with time_machine.travel(timezone.now() + timedelta(days=1)):
        run_scheduled_messages()


def test_a_broadcast_template_keeps_the_messages_html(fake_telegram, django_capture_on_commit_callbacks):
    from notifications.models import NotificationTemplate

    customer = CustomerFactory(language="en")
    NotificationTemplate.objects.create(type="broadcast", language="en", body="📣 {text}")
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        schedule(text="<b>Sale</b> today", starts_at="2026-03-01 10:00")
    run_at(tehran(2026, 3, 1, 10, 0), django_capture_on_commit_callbacks)
    assert fake_telegram.calls_to("sendMessage", customer.telegram_id)[0].params["text"] == "📣 <b>Sale</b> today"
