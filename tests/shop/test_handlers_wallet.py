"""The wallet and top-up dialog in the bot (handlers.wallet)."""

import pytest

from tests.conftest import TelegramUser
from vpnbot.shop.models import Payment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["abc", "-5000", "0", "99999999999999999999"])
def test_bad_topup_amounts_are_answered_and_asked_again(bot, fake_telegram, text):
    user = TelegramUser(7100001, language_code="en")
    bot.send(user, "/topup")
    bot.send(user, text)
    reply = fake_telegram.last_text(user.id)
    assert "How much do you want to add?" in reply
    assert "whole number" in reply or "between" in reply
    bot.photo(user)  # a photo while the amount is expected
    assert "as a number" in fake_telegram.last_text(user.id)
    assert not Payment.objects.exists()


def test_text_when_the_receipt_photo_is_expected(bot, fake_telegram):
    user = TelegramUser(7100002, language_code="en")
    bot.send(user, "/topup")
    bot.send(user, "100000")
    bot.send(user, "I paid!")
    assert "as a photo" in fake_telegram.last_text(user.id)
    assert not Payment.objects.exists()
    bot.send(user, "/cancel")
    assert "Cancelled" in fake_telegram.last_text(user.id)
