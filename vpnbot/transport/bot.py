"""What handlers work with: a sync BotContext, wrapped into PTB callbacks.

A handler is a plain sync function `fn(ctx)`; `@handler` turns it into the async callback
PTB wants and runs it, with the ORM, on the worker's thread via `sync_to_async`. Replies go
out through the sender. Apps add context hooks (the shop loads the customer and language).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from .permissions import is_admin
from .sender import TelegramError, get_sender

if TYPE_CHECKING:  # python-telegram-bot (~20 MB) is imported only where an Application is built
    from telegram import Update

log = logging.getLogger(__name__)
_context_hooks: list[Callable[[BotContext], None]] = []
MAX_CALLBACK_DATA = 64


def register_context_hook(fn: Callable[[BotContext], None]) -> None:
    if fn not in _context_hooks:
        _context_hooks.append(fn)


def inline_keyboard(rows: list[list[tuple[str, str]]]) -> dict:
    """rows of (text, callback_data), (text, "url:https://...") or (text, "webapp:https://...") (a
    button that opens a Mini App) -> reply_markup."""
    keyboard = []
    for row in rows:
        buttons = []
        for text, action in row:
            if action.startswith("url:"):
                buttons.append({"text": text, "url": action[4:]})
            elif action.startswith("webapp:"):
                buttons.append({"text": text, "web_app": {"url": action[7:]}})
            else:
                if len(action.encode()) > MAX_CALLBACK_DATA:
                    raise ValueError(f"callback_data over 64 bytes: {action!r}")
                buttons.append({"text": text, "callback_data": action})
        keyboard.append(buttons)
    return {"inline_keyboard": keyboard}


def reply_keyboard(rows: list[list[str]]) -> dict:
    return {"keyboard": [[{"text": t} for t in row] for row in rows], "resize_keyboard": True, "is_persistent": True}


class BotContext:
    def __init__(self, update: Update, context: Any = None):
        self.update = update
        self.ptb = context
        self.user = update.effective_user
        self.chat = update.effective_chat
        self.message = update.effective_message
        self.callback = update.callback_query
        self.user_id: int | None = self.user.id if self.user else None
        self.chat_id: int | None = self.chat.id if self.chat else self.user_id
        text = self.message.text if self.message and not self.callback else None
        self.text: str = text if isinstance(text, str) else ""  # Telegram's types are not checked by PTB
        self.args: list[str] = list(getattr(context, "args", None) or [])
        data = self.callback.data if self.callback else None
        self.callback_data: str = data if isinstance(data, str) else ""
        # the regex match of the callback's pattern (add_callback), so a handler reads its groups
        # (PTB stores True there for a press without data: not a match)
        matches = getattr(context, "matches", None)
        self.match: re.Match | None = matches[0] if matches and isinstance(matches[0], re.Match) else None
        self.language: str = translation.get_language() or "fa"
        self.customer = None
        self.answered = False

    @property
    def is_admin(self) -> bool:
        return is_admin(self.user_id)

    @property
    def actor(self) -> str:
        """Who did it, for the records (reviewer, requested by, created by): @username or tg:<id>."""
        if self.user is not None and self.user.username:
            return f"@{self.user.username}"
        return f"tg:{self.user_id}"

    def reply(self, text: str, *, buttons=None, keyboard: dict | None = None, parse_mode: str | None = "HTML") -> dict:
        markup = inline_keyboard(buttons) if buttons else keyboard
        return self.send(self.chat_id, text, reply_markup=markup, parse_mode=parse_mode)

    def reply_photo(self, photo, *, caption: str = "", buttons=None, parse_mode: str | None = None) -> dict:
        """A photo (file_id, URL, or (filename, bytes)) with an optional caption."""
        params = {"reply_markup": inline_keyboard(buttons) if buttons else None, "parse_mode": parse_mode}
        return get_sender().send_photo(self.chat_id, photo, caption=caption,
                                       **{k: v for k, v in params.items() if v is not None})

    def reply_document(self, filename: str, content, *, caption: str = "") -> dict:
        return get_sender().send_document(self.chat_id, filename, content, caption)

    def send(self, chat_id: int, text: str, **params) -> dict:
        params = {k: v for k, v in params.items() if v is not None}
        return get_sender().send_message(chat_id, text, **params)

    def edit(self, text: str, *, buttons=None, parse_mode: str | None = "HTML") -> dict:
        """Replace the text of the message the pressed button belongs to (or reply: to a button
        under a photo or a file, whose message has a caption and no text to replace)."""
        if not self.callback or not self.callback.message or getattr(self.callback.message, "text", None) is None:
            return self.reply(text, buttons=buttons, parse_mode=parse_mode)
        params = {"chat_id": self.chat_id, "message_id": self.callback.message.message_id, "text": text}
        if parse_mode:
            params["parse_mode"] = parse_mode
        if buttons:
            params["reply_markup"] = inline_keyboard(buttons)
        try:
            return get_sender().call("editMessageText", params)
        except TelegramError as exc:
            if "message is not modified" in exc.description:
                return {}
            raise

    def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        if not self.callback or self.answered:
            return
        self.answered = True
        get_sender().call("answerCallbackQuery", {"callback_query_id": self.callback.id, "text": text,
                                                  "show_alert": alert or None})


@dataclass(frozen=True)
class Feature:
    """A switch a handler obeys: while enabled() is false the handler does not run and the
    customer reads off_text (an alert on a button, a reply to a command)."""

    enabled: Callable[[], bool]
    off_text: Callable[[], str] = lambda: _("This feature is switched off.")

    @classmethod
    def setting(cls, name: str, off_text: Callable[[], str] | None = None) -> Feature:
        """A switch read from a boolean setting (e.g. "ENABLE_CRM") at every update."""
        enabled = lambda: bool(getattr(settings, name))  # noqa: E731
        return cls(enabled, off_text) if off_text else cls(enabled)


def stale_button(ctx: BotContext) -> None:
    """A button no handler knows (from an old message, or data nobody sent): say so, so it
    does not spin."""
    ctx.answer(_("This button is no longer valid. Please start again."), alert=True)


def _run(fn: Callable, admin: bool, feature: Feature | None, needs_match: bool, update: Update, context: Any) -> None:
    ctx = BotContext(update, context)
    if ctx.user is None or ctx.user.is_bot:
        # every handler serves a person: a message without `from` (a channel's or an anonymous
        # group admin's) or one from a bot is not for the shop
        log.info("update %s without a person ignored", update.update_id)
        return
    for hook in _context_hooks:
        hook(ctx)
    with translation.override(ctx.language):
        try:
            if needs_match and ctx.match is None:
                # PTB hands a press without callback_data to every pattern handler
                stale_button(ctx)
                return
            if admin and not ctx.is_admin:
                ctx.answer(_("This action is for the shop's admins."), alert=True)
                if not ctx.callback:
                    ctx.reply(_("Sorry, this command is for the shop's admins."))
                return
            if feature is not None and not feature.enabled():
                if ctx.callback:
                    ctx.answer(feature.off_text(), alert=True)
                else:
                    ctx.reply(feature.off_text(), parse_mode=None)
                return
            fn(ctx)
        except Exception:
            _apologise(ctx)
            raise
        finally:
            if ctx.callback and not ctx.answered:
                try:
                    ctx.answer()
                except TelegramError:
                    log.warning("could not answer callback query")


def _apologise(ctx: BotContext) -> None:
    try:
        ctx.reply(_("Something went wrong on our side. Please try again in a minute."), parse_mode=None)
    except Exception:  # noqa: BLE001 - the original error matters more
        log.warning("could not send the apology")


def handler(fn: Callable | None = None, *, admin: bool = False, feature: Feature | str | None = None,
            needs_match: bool = False):
    """Make a sync fn(ctx) a PTB callback; admin=True refuses everyone but admins; feature
    (a Feature, or the name of a boolean setting) switches it off."""
    if isinstance(feature, str):
        feature = Feature.setting(feature)

    def wrap(fn: Callable):
        run = sync_to_async(functools.partial(_run, fn, admin, feature, needs_match))

        async def callback(update: Update, context: Any) -> None:
            await run(update, context)

        callback.__name__ = callback.__qualname__ = fn.__name__
        callback.sync = fn
        return callback

    return wrap(fn) if fn is not None else wrap


def add_command(application, name: str, fn: Callable, *, admin: bool = False,
                feature: Feature | str | None = None) -> None:
    """A command in a new message (edited messages do not re-run commands)."""
    from telegram.ext import CommandHandler, filters  # PTB loads only where an Application is built

    application.add_handler(CommandHandler(name, handler(fn, admin=admin, feature=feature),
                                           filters=filters.UpdateType.MESSAGE))


def add_callback(application, pattern: str, fn: Callable, *, admin: bool = False,
                 feature: Feature | str | None = None) -> None:
    """A button press whose callback_data matches pattern (one handler per shape: anchor it
    with ^…$); the handler reads the groups from ctx.match."""
    from telegram.ext import CallbackQueryHandler  # PTB loads only where an Application is built

    callback = handler(fn, admin=admin, feature=feature, needs_match=True)
    application.add_handler(CallbackQueryHandler(callback, pattern=pattern))
