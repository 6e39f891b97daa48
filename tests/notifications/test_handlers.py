"""The commands end to end through the webhook, against the fake Telegram server."""

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Broadcast, Notification, NotificationSettings
from tests.conftest import TelegramUser
from tests.factories import CustomerFactory, SubscriptionFactory
from vpnbot.shop.models import Customer
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db

ADMIN_COMMANDS = ["/process_notifications", "/check_expiries", "/check_wallets", "/notification_stats", "/send_broadcast"]


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
def test_admin_commands_refuse_non_admins_and_do_nothing(bot, tg_user, fake_telegram, command):
    SubscriptionFactory(expires_at=timezone.now() + timezone.timedelta(hours=5))
    bot.send(tg_user, command)
    assert "admins" in fake_telegram.last_text(tg_user.id) or "مدیران" in fake_telegram.last_text(tg_user.id)
    assert not Notification.objects.exists()


def test_broadcast_buttons_refuse_non_admins(bot, tg_user, fake_telegram):
    b = services.broadcast_create(created_by=9001, text="Hi")
    bot.press(tg_user, f"bc:go:{b.pk}")
    b.refresh_from_db()
    assert b.status == "draft"
    assert fake_telegram.calls_to("answerCallbackQuery")[-1].params.get("show_alert") is True


def test_my_notifications_lists_recent_ones(bot, fake_telegram):
    user = TelegramUser(5551001, language_code="en")
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    services.notification_enqueue(customer=customer, type="campaign", dedup_key="x", text="Big <b>sale</b> today")
    services.notification_process()
    bot.send(user, "/notifications")
    last = fake_telegram.last_text(user.id)
    assert "Your recent notifications" in last and "Big sale today" in last


def test_notification_settings_toggles_quiet_hours_and_limit(bot, fake_telegram):
    user = TelegramUser(5551002, language_code="en")
    bot.send(user, "/notification_settings")
    assert "Notification settings" in fake_telegram.last_text(user.id)
    bot.press_button(user, "Campaign message")
    bot.press(user, "ns:q:23-7")
    bot.press(user, "ns:l:3")
    row = NotificationSettings.objects.get(customer__telegram_id=user.id)
    assert row.disabled_types == ["campaign"]
    assert (row.quiet_start.hour, row.quiet_end.hour, row.daily_limit) == (23, 7, 3)
    edited = fake_telegram.calls_to("editMessageText", user.id)[-1]
    assert "23:00–07:00" in edited.params["text"] and "Daily limit: 3" in edited.params["text"]
    bot.press(user, "ns:t:payment_approved")  # transactional: refused
    assert fake_telegram.calls_to("answerCallbackQuery")[-1].params.get("show_alert") is True
    bot.press(user, "ns:q:nonsense")
    row.refresh_from_db()
    assert row.quiet_start.hour == 23


def test_admin_scans_and_processing_through_the_bot(bot, tg_admin, fake_telegram):
    sub = SubscriptionFactory(customer=CustomerFactory(language="en"), expires_at=timezone.now() + timezone.timedelta(hours=5))
    bot.send(tg_admin, "/check_expiries")
    assert "1 new notification" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "/check_wallets")
    assert "Wallet check" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "/process_notifications")
    assert "sent" in fake_telegram.last_text(tg_admin.id)
    texts = fake_telegram.sent_texts(sub.customer.telegram_id)
    assert any("1 day(s)" in t for t in texts) and any("wallet balance is low" in t for t in texts)
    bot.send(tg_admin, "/notification_stats")
    assert any("Delivery rate: 100.0%" in t for t in fake_telegram.sent_texts(tg_admin.id))
    photo = fake_telegram.calls_to("sendPhoto", tg_admin.id)[-1]
    assert photo.files["photo"][1][:4] == b"\x89PNG"


def test_send_broadcast_end_to_end(bot, tg_admin, fake_telegram):
    customers = [CustomerFactory() for _ in range(3)]
    CustomerFactory(blocked_at=timezone.now())
    bot.send(tg_admin, "/send_broadcast")
    bot.send(tg_admin, "Yalda sale!\n[Shop](https://example.com/shop)")
    b = Broadcast.objects.get()
    assert b.text == "Yalda sale!" and b.buttons == [[["Shop", "url:https://example.com/shop"]]]
    bot.press(tg_admin, f"bc:a:{b.pk}:all")
    texts = fake_telegram.sent_texts(tg_admin.id)
    assert "Yalda sale!" in texts  # the preview
    admins = Customer.objects.filter(telegram_id=tg_admin.id).count()
    expected = 3 + admins
    assert f"Send to {expected} recipients" in str(fake_telegram.buttons(tg_admin.id))
    bot.press(tg_admin, f"bc:go:{b.pk}")
    b.refresh_from_db()
    assert b.status == "done" and b.total == expected
    for c in customers:
        calls = fake_telegram.calls_to("sendMessage", c.telegram_id)
        assert [call.text for call in calls] == ["Yalda sale!"]
        assert calls[0].params["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://example.com/shop"
    progress = fake_telegram.calls_to("editMessageText", tg_admin.id)[-1].params["text"]
    assert "finished" in progress and f"Sent: {expected}" in progress and "Remaining: 0" in progress


def test_broadcast_with_a_photo_and_bad_input(bot, tg_admin, fake_telegram):
    bot.send(tg_admin, "/send_broadcast")
    bot.send(tg_admin, "x" * 5000)
    assert "too long" in fake_telegram.last_text(tg_admin.id)
    assert not Broadcast.objects.exists()
    bot.photo(tg_admin)
    b = Broadcast.objects.get()
    assert b.photo.startswith("AgAC-large")


def test_pause_resume_and_cancel_with_confirmation(bot, tg_admin, fake_telegram):
    CustomerFactory.create_batch(3)
    b = services.broadcast_create(created_by=tg_admin.id, text="Hello all")
    services.broadcast_start(broadcast_id=b.pk, progress_chat_id=tg_admin.id, progress_message_id=1)
    bot.press(tg_admin, f"bc:p:{b.pk}")
    b.refresh_from_db()
    assert b.status == "paused"
    assert services.notification_process().sent == 0  # paused: nothing goes out
    bot.press(tg_admin, f"bc:c:{b.pk}")
    assert "Cancel broadcast" in fake_telegram.calls_to("editMessageText", tg_admin.id)[-1].params["text"]
    b.refresh_from_db()
    assert b.status == "paused"  # only asked
    bot.press(tg_admin, f"bc:cc:{b.pk}")
    b.refresh_from_db()
    assert b.status == "cancelled"
    assert not Notification.objects.filter(broadcast=b, status="pending").exists()
    assert not any(c.text == "Hello all" for c in fake_telegram.calls_to("sendMessage"))
    assert "cancelled" in fake_telegram.calls_to("editMessageText", tg_admin.id)[-1].params["text"]


@pytest.mark.parametrize("data", ["bc:s:999999", "bc:go:999999", "bc:s:" + "9" * 30])
def test_a_button_of_a_broadcast_that_does_not_exist(bot, tg_admin, fake_telegram, data):
    bot.press(tg_admin, data)
    answer = fake_telegram.calls_to("answerCallbackQuery")[-1].params
    assert answer["text"] == "This broadcast no longer exists." and answer.get("show_alert") is True


@pytest.mark.parametrize("data", ["bc:go:x", "bc:s", "bc:zz:1", "ns:q:nonsense", "ns:l:x"])
def test_a_button_of_no_known_shape_is_answered_as_no_longer_valid(bot, tg_admin, fake_telegram, data):
    bot.press(tg_admin, data)
    answer = fake_telegram.calls_to("answerCallbackQuery")[-1].params
    assert "no longer valid" in answer["text"] and answer.get("show_alert") is True


@pytest.mark.parametrize("limit", ["101", "1000", "9" * 30])
def test_a_daily_limit_out_of_bounds_is_refused_with_a_message_and_changes_nothing(bot, fake_telegram, limit):
    user = TelegramUser(5551003, language_code="en")
    bot.send(user, "/notification_settings")
    bot.press(user, "ns:l:5")
    bot.press(user, f"ns:l:{limit}")  # not a button the bot sends; typed by hand into a client
    answer = fake_telegram.calls_to("answerCallbackQuery")[-1].params
    assert answer.get("show_alert") is True and "from 0 (no limit) to 100" in answer.get("text", "")
    assert NotificationSettings.objects.get(customer__telegram_id=user.id).daily_limit == 5
    assert not TelegramUpdate.objects.exclude(status="done").exists()
