import pytest
from django.core.management import CommandError, call_command

from vpnbot.transport.views import webhook_secret


def test_set_webhook_sends_url_secret_and_updates(fake_telegram):
    call_command("set_webhook", "https://shop.example.com", "--allowed-updates", "message,callback_query")
    call = fake_telegram.calls_to("setWebhook")[-1]
    assert call.params["url"] == "https://shop.example.com/telegram/webhook/"
    assert call.params["secret_token"] == webhook_secret()
    assert call.params["allowed_updates"] == ["message", "callback_query"]


@pytest.mark.parametrize("args", [["http://insecure.example.com"], ["https://x.example.com", "--max-connections", "0"]])
def test_set_webhook_refuses_bad_input(fake_telegram, args):
    with pytest.raises(CommandError):
        call_command("set_webhook", *args)
    assert not fake_telegram.calls_to("setWebhook")


def test_set_webhook_reports_a_refusal_without_the_token(fake_telegram):
    fake_telegram.fail_next("setWebhook", status=400, description="Bad Request: bad webhook")
    with pytest.raises(CommandError) as info:
        call_command("set_webhook", "https://shop.example.com")
    assert "bad webhook" in str(info.value) and fake_telegram.token not in str(info.value)


def test_delete_webhook(fake_telegram):
    call_command("delete_webhook", "--drop-pending")
    assert fake_telegram.calls_to("deleteWebhook")[-1].params["drop_pending_updates"] is True


@pytest.mark.django_db
def test_runbot_polls_once(fake_telegram):
    call_command("runbot", "--once", "--timeout", "0")
    assert [c.method for c in fake_telegram.calls][:3] == ["getMe", "deleteWebhook", "getUpdates"]


def test_webhook_secret_is_derived_when_not_set(settings):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    derived = webhook_secret()
    assert len(derived) == 64 and derived.isalnum()
    settings.SECRET_KEY = "another"
    assert webhook_secret() != derived


def test_set_webhook_points_the_menu_button_at_the_mini_app(fake_telegram, settings):
    settings.MINIAPP_ENABLED = True
    settings.LANGUAGE_CODE = "en"
    call_command("set_webhook", "https://shop.example.com/")
    button = fake_telegram.calls_to("setChatMenuButton")[-1].params["menu_button"]
    assert button == {"type": "web_app", "text": "Shop", "web_app": {"url": "https://shop.example.com/app/"}}
    assert "chat_id" not in fake_telegram.calls_to("setChatMenuButton")[-1].params  # the default, for every chat


def test_set_webhook_leaves_the_menu_button_when_the_mini_app_is_off(fake_telegram, settings):
    settings.MINIAPP_ENABLED = False
    call_command("set_webhook", "https://shop.example.com")
    assert fake_telegram.calls_to("setWebhook") and not fake_telegram.calls_to("setChatMenuButton")
    settings.MINIAPP_ENABLED = True
    call_command("set_webhook", "https://shop.example.com", "--no-menu-button")
    assert not fake_telegram.calls_to("setChatMenuButton")


def test_set_webhook_reports_a_refused_menu_button(fake_telegram, settings):
    settings.MINIAPP_ENABLED = True
    fake_telegram.fail_next("setChatMenuButton", status=400, description="Bad Request: WEB_APP_URL_INVALID")
    with pytest.raises(CommandError) as info:
        call_command("set_webhook", "https://shop.example.com")
    assert "WEB_APP_URL_INVALID" in str(info.value) and fake_telegram.token not in str(info.value)
