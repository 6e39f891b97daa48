"""Scheduled messages through the webhook, against the fake Bot API: an admin schedules with
/schedule_message (the preview first), lists with /scheduled_messages, cancels with
/cancel_scheduled (after a confirmation); time passes and the customers get it once a week."""

import time
from collections import Counter

import pytest
import time_machine

from notifications.models import ScheduledMessage
from tests.conftest import TelegramUser
from tests.factories import CustomerFactory
from tests.notifications.scheduling import deliveries, run_at, tehran

pytestmark = pytest.mark.django_db


@pytest.fixture
def persian_admin():
    return TelegramUser(9002, first_name="مدیر", username="modir", language_code="fa")


def test_an_admin_schedules_a_weekly_message_and_customers_get_it_once_a_week(
        bot, tg_admin, fake_telegram, django_capture_on_commit_callbacks):
    customers = CustomerFactory.create_batch(3)
    with time_machine.travel(tehran(2026, 3, 1, 12), tick=False):  # a Sunday
        bot.send(tg_admin, "/schedule_message")
        assert "step 1 of 4" in fake_telegram.last_text(tg_admin.id)
        bot.send(tg_admin, "💡 Weekly tip: restart the app once a week\n[Guide](https://example.com/guide)")
        message = ScheduledMessage.objects.get()
        assert message.status == "draft" and message.buttons == [[["Guide", "url:https://example.com/guide"]]]
        assert "Step 2 of 4" in fake_telegram.last_text(tg_admin.id)
        bot.send(tg_admin, "2026-03-02 10:00")
        bot.press_button(tg_admin, "Weekly")
        assert "✅ Monday" in str(fake_telegram.calls_to("editMessageText", tg_admin.id)[-1].params["reply_markup"])
        bot.press(tg_admin, f"sm:wdok:{message.pk}")
        assert "Until when?" in fake_telegram.last_text(tg_admin.id)
        bot.send(tg_admin, "3")
        assert "Step 4 of 4" in fake_telegram.last_text(tg_admin.id)
        bot.press(tg_admin, f"sm:a:{message.pk}:all")
        preview = [c for c in fake_telegram.calls_to("sendMessage", tg_admin.id) if c.text.startswith("💡")][-1]
        assert preview.params["parse_mode"] == "HTML"
        assert preview.params["reply_markup"]["inline_keyboard"] == [[{"text": "Guide", "url": "https://example.com/guide"}]]
        summary = fake_telegram.last_text(tg_admin.id)
        assert "Every week on Monday, 3 times" in summary and "Next: 2026-03-02 10:00, 2026-03-09 10:00, 2026-03-16 10:00" \
            in summary and "(4 now)" in summary  # three customers and the admin, who is one too
        bot.press(tg_admin, f"sm:o:{message.pk}:p")
        assert "Pin: yes" in fake_telegram.calls_to("editMessageText", tg_admin.id)[-1].params["text"]
        bot.press(tg_admin, f"sm:ok:{message.pk}")
        assert "✅ Scheduled" in fake_telegram.calls_to("editMessageText", tg_admin.id)[-1].params["text"]
    message.refresh_from_db()
    assert (message.status, message.repeat, message.weekdays, message.count, message.pin) == ("scheduled", "weekly", [0], 3, True)
    assert message.created_by == "@boss" and message.operator_chat_id == tg_admin.id
    text = "💡 Weekly tip: restart the app once a week"
    weekly = []
    for day in range(2, 30):  # four weeks, the job every day at 10:00 and a minute later
        run_at(tehran(2026, 3, day, 10, 0), django_capture_on_commit_callbacks)
        run_at(tehran(2026, 3, day, 10, 1), django_capture_on_commit_callbacks)
        if day % 7 == 1:  # a week has passed (Sunday)
            weekly.append(deliveries(fake_telegram, text))
    everyone = [c.telegram_id for c in customers] + [tg_admin.id]
    for week, expected in enumerate((1, 2, 3, 3)):  # three times, then it ended
        # the admin is a customer too, and saw the preview first
        assert weekly[week] == Counter({chat: expected + (chat == tg_admin.id) for chat in everyone}), week
    message.refresh_from_db()
    assert message.status == "done"
    assert len(fake_telegram.pinned_in(customers[0].telegram_id)) == 1


def test_a_persian_admin_gives_jalali_dates_and_reads_them(bot, persian_admin, fake_telegram):
    with time_machine.travel(tehran(2026, 3, 10, 12), tick=False):
        bot.send(persian_admin, "/schedule_message")
        bot.send(persian_admin, "ماه نو مبارک")
        message = ScheduledMessage.objects.get()
        assert "1404/12/" in fake_telegram.last_text(persian_admin.id)  # the example is Jalali
        bot.send(persian_admin, "۱۴۰۵/۰۱/۰۱ ۱۰:۰۰")
        bot.press(persian_admin, f"sm:r:{message.pk}:monthly")
        bot.send(persian_admin, "۱")
        bot.send(persian_admin, "1405/03/01")
        bot.press(persian_admin, f"sm:a:{message.pk}:all")
        summary = fake_telegram.last_text(persian_admin.id)
        assert "1405/01/01 10:00" in summary and "1405/02/01 10:00" in summary and "1405/03/01 10:00" in summary
        bot.press(persian_admin, f"sm:ok:{message.pk}")
    message.refresh_from_db()
    assert (message.calendar, message.month_day, message.until.isoformat()) == ("jalali", 1, "2026-05-22")
    assert message.starts_at == tehran(2026, 3, 21, 10, 0)


def _document(user: TelegramUser, file_id: str, name: str) -> dict:
    return {"update_id": int(time.time() * 1000) % 10**9 + 500_000, "message": {
        "message_id": 77, "date": int(time.time()), "from": user.as_dict(),
        "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
        "document": {"file_id": file_id, "file_unique_id": "AgADcsv", "file_name": name, "mime_type": "text/csv",
                     "file_size": 64}}}


def test_audiences_with_a_parameter(bot, tg_admin, fake_telegram):
    listed = CustomerFactory.create_batch(2)
    with time_machine.travel(tehran(2026, 3, 1, 12), tick=False):
        for step in ("/schedule_message", "Hello", "2026-03-02 10:00"):
            bot.send(tg_admin, step)
        message = ScheduledMessage.objects.get()
        bot.press(tg_admin, f"sm:r:{message.pk}:once")
        bot.press(tg_admin, f"sm:a:{message.pk}:language")
        assert {b["callback_data"] for b in fake_telegram.buttons(tg_admin.id)} >= {f"sm:ap:{message.pk}:fa",
                                                                                    f"sm:ap:{message.pk}:en"}
        bot.press(tg_admin, f"sm:ap:{message.pk}:en")
        message.refresh_from_db()
        assert (message.audience, message.audience_params) == ("language", {"language": "en"})
        bot.press(tg_admin, f"sm:a:{message.pk}:expiring")
        bot.send(tg_admin, "1000")
        assert "from 1 to 365" in fake_telegram.last_text(tg_admin.id)
        bot.send(tg_admin, "۷")
        message.refresh_from_db()
        assert message.audience_params == {"days": 7}
        csv = f"telegram_id\n{listed[0].telegram_id}\n{listed[1].telegram_id}\n".encode()
        file_id = fake_telegram.add_file(csv, file_id="BQACAgQAAxkBAAIcsv")
        bot.press(tg_admin, f"sm:a:{message.pk}:telegram_ids")
        bot.post(_document(tg_admin, file_id, "customers.csv"))
        message.refresh_from_db()
        assert message.audience_params == {"ids": [c.telegram_id for c in listed]}
        assert "(2 now)" in fake_telegram.last_text(tg_admin.id)


def test_a_draft_nobody_finished_is_removed_after_a_week(bot, tg_admin, fake_telegram, django_capture_on_commit_callbacks):
    with time_machine.travel(tehran(2026, 3, 1, 12), tick=False):
        bot.send(tg_admin, "/schedule_message")
        bot.send(tg_admin, "Forgotten")
    run_at(tehran(2026, 3, 7, 12), django_capture_on_commit_callbacks)
    assert ScheduledMessage.objects.filter(status="draft").exists()
    run_at(tehran(2026, 3, 8, 12, 1), django_capture_on_commit_callbacks)
    assert not ScheduledMessage.objects.exists()


def test_a_video_with_a_caption_becomes_the_message(bot, tg_admin, fake_telegram):
    update = bot.message_update(tg_admin, None)
    update["message"].update({"video": {"file_id": "BAACAgQvideo", "file_unique_id": "AgADvid", "width": 640, "height": 360,
                                        "duration": 10}, "caption": "New app, bold",
                              "caption_entities": [{"type": "bold", "offset": 9, "length": 4}]})
    with time_machine.travel(tehran(2026, 3, 1, 12), tick=False):
        bot.send(tg_admin, "/schedule_message")
        bot.post(update)
    message = ScheduledMessage.objects.get()
    assert (message.media_type, message.media, message.text) == ("video", "BAACAgQvideo", "New app, <b>bold</b>")


@pytest.mark.parametrize(("answer", "error"), [
    ("tomorrow", "Write a date and time"), ("2026-02-01 10:00", "has passed"), ("1404/12/30 10:00", "no such date")])
def test_a_first_time_that_cannot_be_used_is_asked_again(bot, tg_admin, fake_telegram, answer, error):
    with time_machine.travel(tehran(2026, 3, 1, 12), tick=False):
        bot.send(tg_admin, "/schedule_message")
        bot.send(tg_admin, "Hi")
        bot.send(tg_admin, answer)
        assert error in fake_telegram.last_text(tg_admin.id)
        bot.send(tg_admin, "2026-03-02 10:00")
        assert "Step 3 of 4" in fake_telegram.last_text(tg_admin.id)


def test_list_and_cancel_with_a_confirmation(bot, tg_admin, fake_telegram):
    from notifications import services

    with time_machine.travel(tehran(2026, 3, 1, 12), tick=False):
        weekly = services.scheduled_create(text="Weekly <b>tip</b>", starts_at="2026-03-02 10:00", repeat="weekly", pin=True)
        services.scheduled_create(text="One-off", starts_at="2026-03-05 18:30")
        bot.send(tg_admin, "/scheduled_messages")
        listing = fake_telegram.last_text(tg_admin.id)
        assert listing.index(f"#{weekly.pk} · next 2026-03-02 10:00") < listing.index("next 2026-03-05 18:30")
        assert "Weekly <b>tip</b>"[:10] in listing and "📌" in listing
        bot.send(tg_admin, f"/cancel_scheduled {weekly.pk}")
        assert "Cancel scheduled message" in fake_telegram.last_text(tg_admin.id)
        weekly.refresh_from_db()
        assert weekly.status == "scheduled"  # only asked
        bot.press(tg_admin, f"sm:k:{weekly.pk}")
        weekly.refresh_from_db()
        assert weekly.status == "scheduled"
        bot.press(tg_admin, f"sm:cc:{weekly.pk}")
        weekly.refresh_from_db()
        assert weekly.status == "cancelled"
        bot.send(tg_admin, f"/cancel_scheduled {weekly.pk}")
        assert "No scheduled message" in fake_telegram.last_text(tg_admin.id)
        bot.send(tg_admin, "/cancel_scheduled")
        assert "One-off" in fake_telegram.last_text(tg_admin.id)


@pytest.mark.parametrize("command", ["/schedule_message", "/scheduled_messages", "/cancel_scheduled 1"])
def test_the_commands_refuse_non_admins(bot, tg_user, fake_telegram, command):
    bot.send(tg_user, command)
    assert "admins" in fake_telegram.last_text(tg_user.id) or "مدیران" in fake_telegram.last_text(tg_user.id)
    assert not ScheduledMessage.objects.exists()


def test_the_buttons_refuse_non_admins_and_change_nothing(bot, tg_user, fake_telegram):
    from notifications import services

    with time_machine.travel(tehran(2026, 3, 1, 12), tick=False):
        message = services.scheduled_create(text="Hi", starts_at="2026-03-02 10:00")
        bot.press(tg_user, f"sm:cc:{message.pk}")
    message.refresh_from_db()
    assert message.status == "scheduled"
    assert fake_telegram.calls_to("answerCallbackQuery")[-1].params.get("show_alert") is True


@pytest.mark.parametrize("data", ["sm:ok:999999", "sm:cc:999999"])
def test_a_button_of_a_message_that_is_gone(bot, tg_admin, fake_telegram, data):
    bot.press(tg_admin, data)
    answer = fake_telegram.calls_to("answerCallbackQuery")[-1].params
    assert answer["text"] == "This scheduled message no longer exists." and answer["show_alert"] is True
