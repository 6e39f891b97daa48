"""The python-telegram-bot Application: built once per worker process, fed stored updates."""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import traceback
from collections.abc import Callable

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.utils.translation import gettext as _
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

from vpnbot.core.autodiscover import autodiscover

from . import dialog, permissions
from .bot import BotContext, add_command, handler, stale_button
from .redact import redact
from .request import SenderRequest
from .sender import TelegramError, get_sender

log = logging.getLogger(__name__)
_errors: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("update_errors", default=None)
_lock = threading.Lock()
_state: dict = {"app": None, "key": None, "initialized": False}


def build_application() -> Application:
    api = settings.TELEGRAM_API_URL
    application = (
        ApplicationBuilder()
        .token(settings.TELEGRAM_BOT_TOKEN or "0:unset")
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(SenderRequest(settings.TELEGRAM_REQUEST_TIMEOUT))
        .get_updates_request(SenderRequest(settings.TELEGRAM_REQUEST_TIMEOUT))
        .updater(None)
        .build()
    )
    register_handlers(application)
    return application


def register_handlers(application: Application) -> None:
    """Every app's handlers (`<app>.handlers.register`), the fallbacks and the error handler."""
    add_command(application, "cancel", cancel)
    for module in autodiscover("handlers"):
        if hasattr(module, "register"):
            module.register(application)
    application.add_handler(CallbackQueryHandler(handler(stale_button)))
    application.add_handler(MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, handler(unknown_command)))
    application.add_handler(MessageHandler(~filters.COMMAND & filters.UpdateType.MESSAGE, handler(route_message)))
    application.add_error_handler(_record_error)


def cancel(ctx: BotContext) -> None:
    if dialog.dialog_clear(user_id=ctx.user_id):
        ctx.reply(_("Cancelled."))
    else:
        ctx.reply(_("There is nothing to cancel."))


def unknown_command(ctx: BotContext) -> None:
    dialog.dialog_clear(user_id=ctx.user_id)
    ctx.reply(_("I don't know that command. Send /help to see what I can do."))


def route_message(ctx: BotContext) -> None:
    """A message that is not a command: the current dialog step, else a menu button."""
    state = dialog.dialog_get(user_id=ctx.user_id)
    if state:
        name, data = state
        step = dialog.get_step(name)
        if step:
            step(ctx, data)
            return
    for fallback in dialog.fallbacks():
        if fallback(ctx):
            return
    ctx.reply(_("Send /help to see what I can do."))


async def _record_error(update: object, context) -> None:
    errors = _errors.get()
    if errors is not None and context.error is not None:
        errors.append("".join(traceback.format_exception(context.error)))


async def _application() -> Application:
    key = (os.getpid(), settings.TELEGRAM_API_URL, settings.TELEGRAM_BOT_TOKEN)
    with _lock:
        if _state["app"] is None or _state["key"] != key:
            _state.update(app=build_application(), key=key, initialized=False)
        app = _state["app"]
    if not _state["initialized"]:
        await app.initialize()
        _state["initialized"] = True
    return app


def reset_application() -> None:
    with _lock:
        _state.update(app=None, key=None, initialized=False)


async def _process(payload: dict) -> str | None:
    app = await _application()
    errors: list[str] = []
    token = _errors.set(errors)
    try:
        try:
            update = Update.de_json(payload, app.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # a shape Telegram does not send (e.g. a message without `date`): nothing to answer
            log.warning("update %s ignored: not a valid Telegram update (%s: %s)",
                        payload.get("update_id"), type(exc).__name__, exc)
            return None
        if permissions.gated() and await _gated(update):
            return None
        await app.process_update(update)
    finally:
        _errors.reset(token)
    return redact("\n".join(errors)) if errors else None


def _gate_answer(update: Update) -> bool:
    """True when the registered gates stop this update (a banned customer): nothing runs, and
    the one answer the gate gives, if any, is sent to the person's chat."""
    user = update.effective_user
    if user is None or user.is_bot:
        return False
    if update.message is not None and update.message.successful_payment is not None:
        return False  # money Telegram already took: recorded, and the risk checks freeze a banned customer's
    answer = permissions.gate(user.id)
    if answer is None:
        return False
    if answer:
        chat = update.effective_chat
        try:
            get_sender().send_message(chat.id if chat is not None and chat.type == "private" else user.id, answer)
        except TelegramError as exc:
            log.info("the gate's answer was not sent: %s", exc.description)
    return True


_gated = sync_to_async(_gate_answer)


async def _process_all(items: list[tuple[int, dict]], done: Callable[[int, str | None], None]) -> None:
    record = sync_to_async(done)  # back on the calling thread, with its database connection
    for key, payload in items:
        try:
            error = await _process(payload)
        except Exception:  # noqa: BLE001 - any failure is recorded on the row, never re-raised
            error = redact(traceback.format_exc())
        try:
            await record(key, error)
        except Exception:  # noqa: BLE001 - the others still run; the requeue job sees this row
            log.exception("could not record the outcome of update row %s", key)


def process_payloads(items: list[tuple[int, dict]], done: Callable[[int, str | None], None]) -> None:
    """Run (key, update payload) pairs through the handlers in order, calling done(key, error)
    after each (error: the traceback, if a handler failed). One event loop serves the whole
    batch: starting one per update cost more CPU than many a handler."""
    async_to_sync(_process_all)(items, done)

