"""The wallet and top-up dialog in the bot (handlers.wallet)."""

import pytest

from tests.conftest import TelegramUser
from tests.factories import CustomerFactory
from vpnbot.core import bounds
from vpnbot.shop import services
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


def test_a_top_up_limit_set_above_the_bounds_is_held_to_them(bot, fake_telegram, settings):
    settings.TOPUP_MAX_AMOUNT = 10**15  # an operator's setting beyond what the shop's amounts may be
    user = TelegramUser(7100004, language_code="en")
    bot.send(user, "/topup")
    assert f"{bounds.MAX_AMOUNT:,}" in fake_telegram.last_text(user.id)
    bot.send(user, f"{bounds.MAX_AMOUNT + 1}")
    reply = fake_telegram.last_text(user.id)
    assert "How much do you want to add?" in reply and f"{bounds.MAX_AMOUNT:,}" in reply
    bot.send(user, f"{bounds.MAX_AMOUNT}")
    bot.photo(user)
    assert Payment.objects.get().amount == bounds.MAX_AMOUNT


def test_a_top_up_out_of_bounds_is_not_written(db, settings):
    settings.TOPUP_MAX_AMOUNT = 10**15
    customer = CustomerFactory()
    with pytest.raises(services.ShopError):
        services.payment_submit(customer=customer, amount=bounds.MAX_AMOUNT + 1, receipt_file_id="AgAC")
    assert not Payment.objects.exists()


def test_the_mini_apps_card_link_asks_for_the_receipt_of_its_amount(bot, fake_telegram, settings):
    """t.me/<bot>?start=topup_<amount> (the Mini App's card top-up): the card, then the photo."""
    settings.PAYMENT_CARD_NUMBER, settings.PAYMENT_CARD_HOLDER = "6037-9911-2233-4455", "Sara Shop"
    user = TelegramUser(7100021, language_code="en")
    bot.send(user, "/start topup_150000")
    reply = fake_telegram.last_text(user.id)
    assert "Transfer 150,000" in reply and "6037-9911-2233-4455" in reply
    bot.photo(user)
    assert Payment.objects.get().amount == 150_000


def test_the_mini_apps_card_link_with_a_bad_amount_asks_again(bot, fake_telegram):
    user = TelegramUser(7100022, language_code="en")
    bot.send(user, "/start topup_1")
    assert "How much do you want to add?" in fake_telegram.last_text(user.id)
    bot.send(user, "200000")
    bot.photo(user)
    assert Payment.objects.get().amount == 200_000
