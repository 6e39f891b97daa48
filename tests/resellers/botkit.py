"""Helpers of the reseller bot tests: promote through the bot, read what the fake Telegram got."""

from __future__ import annotations

from django.db.models import Sum

from tests.conftest import TelegramUser
from vpnbot.shop.models import Customer, WalletTransaction


def answers(fake) -> list[str]:
    """The texts of every answerCallbackQuery (alerts), oldest first."""
    return [str(c.params.get("text") or "") for c in fake.calls_to("answerCallbackQuery")]


def button_data(fake, chat_id: int) -> list[str]:
    return [b.get("callback_data", "") for b in fake.buttons(chat_id)]


def button(fake, chat_id: int, prefix: str) -> str:
    data = [d for d in button_data(fake, chat_id) if d.startswith(prefix)]
    assert data, f"no button {prefix!r} in {button_data(fake, chat_id)}"
    return data[0]


def ledger_sum(customer: Customer) -> int:
    return WalletTransaction.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] or 0


def promote(bot, admin: TelegramUser, user: TelegramUser, *, discount: str = "20", credit: str = "0") -> Customer:
    """The user starts the bot and an admin makes them a reseller with /add_reseller."""
    bot.send(user, "/start")
    bot.send(admin, f"/add_reseller {user.id} {discount} {credit}")
    return Customer.objects.get(telegram_id=user.id)
