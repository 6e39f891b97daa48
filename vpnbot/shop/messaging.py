"""Messages the shop sends on its own initiative (a payment decision, a config delivered,
a receipt for the admins). Sent after commit through the transport's sender. The
notifications system, when installed, takes these over (register_notifier) and delivers them
through its outbox with templates, settings and logs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.db import transaction
from django.utils import translation

from vpnbot.transport.bot import inline_keyboard
from vpnbot.transport.permissions import admin_chat_ids
from vpnbot.transport.sender import TelegramError, get_sender

log = logging.getLogger(__name__)
_notifier: Callable | None = None


def register_notifier(fn: Callable | None) -> None:
    """fn(customer=, kind=, context=, text=, buttons=, dedup_key=) replaces direct sending."""
    global _notifier
    _notifier = fn


def notify_customer(customer, *, kind: str, text: Callable[[], str], context: dict | None = None,
                    buttons=None, dedup_key: str = "") -> None:
    """Tell a customer something, in their language, once the transaction commits."""
    with translation.override(customer.effective_language):
        rendered = text()
    if _notifier is not None:
        _notifier(customer=customer, kind=kind, context=context or {}, text=rendered, buttons=buttons,
                  dedup_key=dedup_key)
        return
    if customer.blocked_at:
        return
    markup = inline_keyboard(buttons) if buttons else None
    transaction.on_commit(partial(_send, customer.telegram_id, rendered, markup))


def _send(chat_id: int, text: str, markup) -> dict | None:
    try:
        return get_sender().send_message(chat_id, text, reply_markup=markup, parse_mode="HTML")
    except TelegramError as exc:
        log.warning("message to %s not sent: %s", chat_id, exc.description)
        return None


def admin_language(chat_id: int) -> str:
    """An admin reads alerts in the language they chose as a customer, else the shop's."""
    from django.conf import settings

    from .models import Customer

    customer = Customer.objects.filter(telegram_id=chat_id).first()
    return customer.effective_language if customer else settings.LANGUAGE_CODE


def notify_admins(*, text: Callable[[], str], photo: str | None = None, buttons=None,
                  on_sent: Callable[[list[list[int]]], None] | None = None) -> None:
    """Send every admin a message (or a photo with caption) after commit, each in their
    language (text and buttons are callables rendered per admin); on_sent receives
    the [chat_id, message_id] pairs so the messages can be edited later."""
    def deliver():
        sent = []
        for chat_id in admin_chat_ids():
            with translation.override(admin_language(chat_id)):
                rendered = text()
                markup = inline_keyboard(buttons() if callable(buttons) else buttons) if buttons else None
            try:
                if photo:
                    msg = get_sender().send_photo(chat_id, photo, caption=rendered, reply_markup=markup, parse_mode="HTML")
                else:
                    msg = get_sender().send_message(chat_id, rendered, reply_markup=markup, parse_mode="HTML")
                sent.append([chat_id, msg["message_id"]])
            except (TelegramError, KeyError, TypeError) as exc:
                log.warning("admin %s not reached: %s", chat_id, exc)
        if on_sent:
            on_sent(sent)

    transaction.on_commit(deliver)
