"""The message port: one way to deliver a message, straight to the sender or through the
notifications outbox that registers itself."""

import pytest

from notifications.models import Notification
from tests.factories import CustomerFactory
from vpnbot.shop import messaging
from vpnbot.transport import messages

pytestmark = pytest.mark.django_db


def test_the_notifications_app_registers_its_outbox():
    from notifications.services import Outbox

    assert isinstance(messages._outbox, Outbox)


def test_direct_messages_wait_for_the_commit_and_keep_their_buttons(fake_telegram, direct_messages,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queued = messages.notify_chat(555, "<b>Hi</b>", buttons=[[("Open", "x:1"), ("Site", "url:https://e.example")]])
        assert fake_telegram.calls == []  # nothing leaves before the commit
    assert queued == messages.Queued(message_id=None)
    [call] = fake_telegram.calls_to("sendMessage", 555)
    assert call.params["parse_mode"] == "HTML"
    assert fake_telegram.buttons(555) == [{"text": "Open", "callback_data": "x:1"},
                                          {"text": "Site", "url": "https://e.example"}]


def test_direct_messages_with_the_same_dedup_key_go_once(fake_telegram, direct_messages,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert messages.notify_chat(555, "once", dedup_key="k") is not None
        assert messages.notify_chat(555, "twice", dedup_key="k") is None
        messages.notify_admins(lambda: "alert", dedup_key="a")
        messages.notify_admins(lambda: "alert", dedup_key="a")
    assert fake_telegram.sent_texts(555) == ["once"]
    assert fake_telegram.sent_texts(9001) == ["alert"] and fake_telegram.sent_texts(9002) == ["alert"]


def test_a_bad_button_fails_the_caller_not_the_delivery(direct_messages):
    with pytest.raises(ValueError, match="64 bytes"):
        messages.notify_chat(555, "x", buttons=[[("Too long", "x" * 65)]])


def test_admins_read_alerts_in_their_own_language(fake_telegram, direct_messages, django_capture_on_commit_callbacks):
    from django.utils.translation import get_language

    CustomerFactory(telegram_id=9001, language="en")
    CustomerFactory(telegram_id=9002, language="fa")
    with django_capture_on_commit_callbacks(execute=True):
        messages.notify_admins(lambda: f"lang={get_language()}")
    assert fake_telegram.sent_texts(9001) == ["lang=en"]
    assert fake_telegram.sent_texts(9002) == ["lang=fa"]


def test_the_outbox_takes_customer_messages_and_reports_their_outcome(fake_telegram):
    customer = CustomerFactory()
    queued = messages.notify_chat(customer.telegram_id, "Hello", kind="campaign", dedup_key="c1",
                                  buttons=[[("Buy", "buy:1")]], source="test")
    n = Notification.objects.get(pk=queued.message_id)
    assert (n.customer, n.type, n.text, n.buttons, n.source) == (customer, "campaign", "Hello", [[["Buy", "buy:1"]]], "test")
    assert messages.notify_chat(customer.telegram_id, "Hello", kind="campaign", dedup_key="c1") is None
    ids = Notification.objects.filter(pk=n.pk).values("pk")
    assert messages.outcomes(ids) == {"pending": 1}
    assert messages.cancel(ids, reason="stopped") == 1
    assert messages.outcomes(ids) == {"skipped": 1}


def test_the_outbox_takes_a_message_for_a_chat_that_is_no_customer(fake_telegram, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queued = messages.notify_chat(424242, "Hi", kind="config_delivered", dedup_key="x")
    n = Notification.objects.get(pk=queued.message_id)
    assert n.customer is None and n.chat_id == 424242
    assert fake_telegram.sent_texts(424242) == ["Hi"]  # transactional: delivered right after commit


def test_a_customer_who_blocked_the_bot_is_told_nothing(fake_telegram, direct_messages,
                                                       django_capture_on_commit_callbacks):
    from django.utils import timezone

    customer = CustomerFactory(blocked_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert messaging.notify_customer(customer, kind="cashback", text="x") is None
    assert fake_telegram.calls == []
    assert not Notification.objects.exists()


def test_notify_customer_renders_text_and_buttons_in_the_customers_language(fake_telegram, direct_messages,
                                                                            django_capture_on_commit_callbacks):
    from django.utils.translation import get_language

    customer = CustomerFactory(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        messaging.notify_customer(customer, kind="message", text=lambda: get_language(),
                                  buttons=lambda: [[(get_language(), "x:1")]])
    assert fake_telegram.sent_texts(customer.telegram_id) == ["en"]
    assert fake_telegram.buttons(customer.telegram_id)[0]["text"] == "en"


def test_edit_message_treats_not_modified_as_done_and_raises_the_rest(fake_telegram):
    fake_telegram.fail_next("editMessageText", status=400, description="Bad Request: message is not modified")
    messages.edit_message(555, 7, text="same")
    fake_telegram.fail_next("editMessageText", status=400, description="Bad Request: message to edit not found")
    with pytest.raises(messages.TelegramError):
        messages.edit_message(555, 7, text="gone")
    messages.edit_message(555, 7, clear_buttons=True)
    call = fake_telegram.calls_to("editMessageReplyMarkup")[-1]
    assert call.params["reply_markup"] in ({"inline_keyboard": []}, '{"inline_keyboard": []}')
