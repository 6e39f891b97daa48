"""The account in the bot (handlers.account): menu, language, blocking the bot."""

import time

import pytest

from tests.conftest import TelegramUser
from vpnbot.shop.models import Customer
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db


def test_menu_buttons_and_language_switch(bot, fake_telegram):
    user = TelegramUser(7100007, language_code="en")
    bot.send(user, "/start")
    bot.send(user, "💰 Wallet")
    assert "Balance" in fake_telegram.last_text(user.id)
    bot.press(user, "lang:fa")
    bot.send(user, "💰 کیف پول")
    assert "موجودی" in fake_telegram.last_text(user.id)
    assert Customer.objects.get(telegram_id=user.id).language == "fa"


def test_blocking_and_unblocking_the_bot_is_recorded(bot, fake_telegram, tg_user):
    bot.send(tg_user, "/start")

    def member_update(status):
        return {"update_id": int(time.time() * 1000) + hash(status) % 1000, "my_chat_member": {
            "chat": {"id": tg_user.id, "type": "private"}, "from": tg_user.as_dict(), "date": int(time.time()),
            "old_chat_member": {"user": {"id": 777000111, "is_bot": True, "first_name": "VPN Shop"}, "status": "member"},
            "new_chat_member": {"user": {"id": 777000111, "is_bot": True, "first_name": "VPN Shop"}, "status": status,
                                **({"until_date": 0} if status == "kicked" else {})}}}

    bot.post(member_update("kicked"))
    assert Customer.objects.get(telegram_id=tg_user.id).blocked_at is not None
    bot.post(member_update("member"))
    assert Customer.objects.get(telegram_id=tg_user.id).blocked_at is None
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


def test_start_offers_the_mini_app_when_it_is_on_and_public(bot, fake_telegram, settings):
    user = TelegramUser(7100011, language_code="en")
    settings.MINIAPP_ENABLED, settings.PUBLIC_BASE_URL = True, "https://shop.example.com"
    bot.send(user, "/start")
    assert fake_telegram.buttons(user.id) == [{"text": "🛍 Open the shop", "web_app": {"url": "https://shop.example.com/app/"}}]
    welcome = fake_telegram.calls_to("sendMessage", user.id)[-2].params
    assert "keyboard" in welcome["reply_markup"]  # the menu keyboard stays with the welcome


@pytest.mark.parametrize("enabled, base", [(False, "https://shop.example.com"), (True, "http://shop.example.com"), (True, "")])
def test_start_offers_no_mini_app_when_off_or_not_https(bot, fake_telegram, settings, enabled, base):
    user = TelegramUser(7100012, language_code="en")
    settings.MINIAPP_ENABLED, settings.PUBLIC_BASE_URL = enabled, base
    bot.send(user, "/start")
    assert not fake_telegram.buttons(user.id)
    assert len(fake_telegram.calls_to("sendMessage", user.id)) == 1
