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


def make_reseller(user: TelegramUser, *, balance: int = 0, credit: int = 0, **terms):
    """A customer of this Telegram user (in English) made a reseller by the service, with a balance."""
    from resellers import services
    from tests.factories import CustomerFactory
    from vpnbot.shop.services import wallet_apply

    customer = CustomerFactory(telegram_id=user.id, username=user.username, language="en")
    reseller = services.reseller_promote(customer_id=customer.pk, by="test", credit_limit_amount=credit, **terms)
    if balance:
        wallet_apply(customer_id=customer.pk, amount=balance, reason="adjustment", source=f"seed:{customer.pk}")
    return reseller
