"""The shop's side of the message port: tell a customer something in their language, and
the language an admin reads alerts in. Delivery itself is the transport's message port
(`vpnbot.transport.messages`), which the notifications outbox takes over when installed."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.utils import translation

from vpnbot.transport import messages

from .models import Customer


def notify_customer(customer: Customer, *, kind: str, text: str | Callable[[], str], context: dict | None = None,
                    buttons=None, dedup_key: str = "", photo: str = "", urgent: bool = False,
                    source: str = "") -> messages.Queued | None:
    """Tell a customer something once the transaction commits, rendered in their language
    (text and buttons may be callables, called under it). Nothing for a customer who
    blocked the bot."""
    if customer.blocked_at:
        return None
    with translation.override(customer.effective_language):
        rendered = text() if callable(text) else text
        rows = buttons() if callable(buttons) else buttons
    return messages.notify_chat(customer.telegram_id, rendered, kind=kind, buttons=rows, photo=photo,
                                dedup_key=dedup_key, context=context, urgent=urgent, source=source or f"shop:{kind}")


def admin_language(chat_id: int) -> str:
    """An admin reads alerts in the language they chose as a customer, else the shop's."""
    customer = Customer.objects.filter(telegram_id=chat_id).first()
    return customer.effective_language if customer else settings.LANGUAGE_CODE
