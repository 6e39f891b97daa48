"""The message port: the one way an app tells a chat something outside a reply to its update.

- `notify_chat(chat_id, text, ...)` and `notify_admins(text, ...)` queue a message after the
  caller's transaction commits. By default they go straight through the sender; the
  notifications app registers its outbox (`register_outbox`, in its `ready()`), which then
  takes every one of them (templates, per-customer settings, quiet hours, retries, logs).
- `send_now`, `send_document` and `edit_message` are for the few messages whose Telegram
  message id the caller keeps (a receipt the admins review, a progress message): they run
  at once, bypass any outbox and raise the sender's errors. So do `pin_message` and
  `unpin_message` (a scheduled message pinned in each chat).

Buttons are rows of `(label, action)`: an action is callback data, or `url:https://…` for
a link. Callers never build Telegram markup and never import the sender.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import translation

from .bot import inline_keyboard
from .permissions import admin_chat_ids
from .sender import ChatUnreachable, RetryLater, TelegramError, TelegramNetworkError, get_sender

__all__ = [
    "ChatUnreachable", "Outbox", "Queued", "RetryLater", "TelegramError", "TelegramNetworkError", "cancel",
    "chat_language", "edit_message", "notify_admins", "notify_chat", "outcomes", "register_chat_language",
    "download_file", "pin_message", "register_outbox", "send_document", "send_now", "unpin_message",
]

log = logging.getLogger(__name__)

Buttons = list[list[tuple[str, str]]] | None
Text = str | Callable[[], str]

# How long the direct path remembers a dedup key (an outbox remembers it for good).
DIRECT_DEDUP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Queued:
    """A message accepted for delivery. message_id is the outbox's id for it, to cancel it or
    read its outcome later; None when it went straight to the sender (nothing to follow)."""

    message_id: int | None = None


class Outbox(Protocol):
    """What the notifications app implements and registers."""

    def notify_chat(self, chat_id: int, text: str, *, kind: str, buttons: Buttons, photo: str, dedup_key: str,
                    context: dict, urgent: bool, source: str, parse_mode: str) -> Queued | None: ...

    def notify_admins(self, text: Callable[[], str], *, kind: str, dedup_key: str,
                      buttons: Callable[[], Buttons] | None = None) -> int: ...

    def cancel(self, message_ids: Iterable[int], *, reason: str) -> int: ...

    def outcomes(self, message_ids: Iterable[int]) -> dict[str, int]: ...


_outbox: Outbox | None = None
_chat_language: Callable[[int], str] | None = None


def register_outbox(outbox: Outbox | None) -> None:
    """The notifications app's outbox takes over every notify_chat / notify_admins."""
    global _outbox
    _outbox = outbox


def register_chat_language(fn: Callable[[int], str] | None) -> None:
    """fn(chat_id) -> the language an admin reads alerts in (the shop registers it)."""
    global _chat_language
    _chat_language = fn


def chat_language(chat_id: int) -> str:
    return _chat_language(chat_id) if _chat_language else settings.LANGUAGE_CODE


def _render(text: Text) -> str:
    return text() if callable(text) else text


# --- queued after commit ------------------------------------------------------------------------

def notify_chat(chat_id: int, text: str, *, kind: str = "message", buttons: Buttons = None, photo: str = "",
                dedup_key: str = "", context: dict | None = None, urgent: bool = False, source: str = "",
                parse_mode: str = "HTML") -> Queued | None:
    """Queue a message (text already in its reader's language) for after commit. kind names
    what it is ("payment_approved", "campaign", …); a second message with the same dedup_key
    is not sent. Returns None when nothing was queued (a duplicate)."""
    if buttons:
        inline_keyboard(buttons)  # a bad button fails the caller now, not the delivery later
    if _outbox is not None:
        return _outbox.notify_chat(chat_id, text, kind=kind, buttons=buttons, photo=photo, dedup_key=dedup_key,
                                   context=context or {}, urgent=urgent, source=source, parse_mode=parse_mode)
    if dedup_key and not cache.add(f"messages:sent:{kind}:{chat_id}:{dedup_key}", 1, timeout=DIRECT_DEDUP_SECONDS):
        return None
    transaction.on_commit(partial(_deliver, chat_id, text, buttons, photo, parse_mode))
    return Queued()


def notify_admins(text: Text, *, kind: str = "admin_alert", dedup_key: str = "",
                  buttons: Buttons | Callable[[], Buttons] = None) -> None:
    """Tell every admin something after commit, each in their language (text and buttons may
    be callables rendered per admin); once per dedup_key."""
    render = text if callable(text) else (lambda: text)
    rows = buttons if callable(buttons) else (lambda: buttons)
    if buttons and not callable(buttons):
        inline_keyboard(buttons)  # a bad button fails the caller now
    if _outbox is not None:
        _outbox.notify_admins(render, kind=kind, dedup_key=dedup_key, buttons=rows if buttons else None)
        return
    if dedup_key and not cache.add(f"messages:admins:{kind}:{dedup_key}", 1, timeout=DIRECT_DEDUP_SECONDS):
        return

    def deliver():
        for chat_id in admin_chat_ids():
            with translation.override(chat_language(chat_id)):
                rendered, markup = render(), rows()
            _deliver(chat_id, rendered, markup, "", "HTML")

    transaction.on_commit(deliver)


def _deliver(chat_id: int, text: str, buttons: Buttons, photo: str, parse_mode: str) -> None:
    params = {"reply_markup": inline_keyboard(buttons)} if buttons else {}
    if parse_mode:
        params["parse_mode"] = parse_mode
    try:
        if photo:
            get_sender().send_photo(chat_id, photo, caption=text, **params)
        else:
            get_sender().send_message(chat_id, text, **params)
    except TelegramError as exc:
        log.warning("message to %s not sent: %s", chat_id, exc.description)


def cancel(message_ids: Iterable[int], *, reason: str) -> int:
    """Cancel queued messages that are still waiting; how many were cancelled."""
    return _outbox.cancel(message_ids, reason=reason) if _outbox is not None else 0


def outcomes(message_ids: Iterable[int]) -> dict[str, int]:
    """How the queued messages fared: counts by pending, sent, failed, blocked, skipped. The
    ids may be a list or a values_list query (read as a subquery)."""
    return _outbox.outcomes(message_ids) if _outbox is not None else {}


# --- at once, bypassing any outbox ------------------------------------------------------------------

def send_now(chat_id: int, text: str, *, photo: str = "", buttons: Buttons = None,
             parse_mode: str = "HTML", media_type: str = "photo") -> int | None:
    """Send now and return Telegram's message id; raises TelegramError (and its kinds).
    `photo` is an attached file (file_id or URL): a photo, or a video or document by media_type."""
    params = {"reply_markup": inline_keyboard(buttons)} if buttons else {}
    if parse_mode:
        params["parse_mode"] = parse_mode
    if photo:
        message = get_sender().send_media(chat_id, media_type or "photo", photo, caption=text, **params)
    else:
        message = get_sender().send_message(chat_id, text, **params)
    return message.get("message_id") if isinstance(message, dict) else None


def send_document(chat_id: int, filename: str, fileobj, caption: str = "") -> None:
    """Upload a file now; raises TelegramError."""
    get_sender().send_document(chat_id, filename, fileobj, caption)


def edit_message(chat_id: int, message_id: int, *, text: str | None = None, caption: str | None = None,
                 buttons: Buttons = None, clear_buttons: bool = False, parse_mode: str = "HTML") -> None:
    """Edit a message sent earlier: its text, its caption, or only its buttons
    (clear_buttons removes them). "Not modified" is not an error; others raise."""
    params: dict = {"chat_id": chat_id, "message_id": message_id}
    if buttons:
        params["reply_markup"] = inline_keyboard(buttons)
    elif clear_buttons:
        params["reply_markup"] = {"inline_keyboard": []}
    if text is not None:
        method, params["text"] = "editMessageText", text
    elif caption is not None:
        method, params["caption"] = "editMessageCaption", caption
    else:
        method = "editMessageReplyMarkup"
    if parse_mode and method != "editMessageReplyMarkup":
        params["parse_mode"] = parse_mode
    try:
        get_sender().call(method, params)
    except TelegramError as exc:
        if "message is not modified" not in exc.description:
            raise


def pin_message(chat_id: int, message_id: int) -> None:
    """Pin a message the bot sent, without a notification sound; raises TelegramError."""
    get_sender().call("pinChatMessage", {"chat_id": chat_id, "message_id": message_id, "disable_notification": True})


def unpin_message(chat_id: int, message_id: int) -> bool:
    """Unpin one message; False when it is not pinned (any more) or is gone, as Telegram says
    for both; other refusals raise TelegramError."""
    try:
        get_sender().call("unpinChatMessage", {"chat_id": chat_id, "message_id": message_id})
    except TelegramError as exc:
        if exc.status == 400 and "not found" in exc.description:
            return False
        raise
    return True


def download_file(file_id: str, *, max_bytes: int) -> bytes:
    """The bytes of a file a person sent (a receipt photo), at once; raises TelegramError."""
    return get_sender().download_file(file_id, max_bytes=max_bytes)
