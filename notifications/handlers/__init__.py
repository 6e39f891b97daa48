"""Notifications in the bot: /notifications, /notification_settings for customers; for admins
/process_notifications, /check_expiries, /check_wallets, /notification_stats, /send_broadcast, and
the scheduled messages (/schedule_message, /scheduled_messages, /cancel_scheduled: see scheduled)."""

from __future__ import annotations

import functools
import re
import zoneinfo

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.shop import audiences
from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext, add_callback, add_command

from .. import selectors, services, types
from ..models import Broadcast
from ..services import NotificationError
from . import scheduled
from .common import split_buttons

BROADCAST_DIALOG = "notifications:broadcast"
STATUS_ICONS = {"sent": "✅", "pending": "⏳", "failed": "⚠️", "blocked": "⛔️", "cancelled": "✖️"}


# --- customers ---------------------------------------------------------------------------------------

def my_notifications(ctx: BotContext) -> None:
    rows = selectors.recent_for(customer=ctx.customer)
    if not rows:
        ctx.reply(_("You have no notifications yet."))
        return
    tz = zoneinfo.ZoneInfo(ctx.customer.tz_name)
    lines = [_("Your recent notifications:")]
    for n in rows:
        when = (n.sent_at or n.scheduled_for).astimezone(tz).strftime("%m-%d %H:%M")
        text = re.sub(r"<[^>]+>", "", n.text or "").replace("\n", " ")
        snippet = text[:80] + ("…" if len(text) > 80 else "")
        lines.append(f"{STATUS_ICONS.get(n.status, '')} {when} · {types.LABELS.get(n.type, n.type)}: {snippet}")
    ctx.reply("\n".join(lines), parse_mode=None)


def _settings_view(customer) -> tuple[str, list]:
    row = services.settings_get(customer=customer)
    prefs = services.preferences_for(row)
    quiet = (_("off") if not prefs.quiet else f"{prefs.quiet[0]:%H:%M}–{prefs.quiet[1]:%H:%M}")
    limit = _("no limit") if not prefs.daily_limit else str(prefs.daily_limit)
    text = _("🔔 Notification settings\nTap a kind to turn it on or off.\nQuiet hours: %(quiet)s\n"
             "Daily limit: %(limit)s\nPayment decisions and configs are always sent.") % {"quiet": quiet, "limit": limit}
    buttons = []
    for type_ in types.OPTIONAL:
        mark = "🔕" if type_ in prefs.disabled else "✅"
        buttons.append([(f"{mark} {types.LABELS[type_]}", f"ns:t:{type_}")])
    buttons.append([("🌙 " + _("Off"), "ns:q:off"), ("22–08", "ns:q:22-8"), ("23–07", "ns:q:23-7"), ("00–08", "ns:q:0-8")])
    buttons.append([(_("Limit: none") if n == 0 else _("Limit: %(n)s") % {"n": n}, f"ns:l:{n}") for n in services.LIMIT_PRESETS])
    return text, buttons


def notification_settings(ctx: BotContext) -> None:
    text, buttons = _settings_view(ctx.customer)
    ctx.reply(text, buttons=buttons, parse_mode=None)


def _setting_changed(fn):
    """A settings button: run fn(ctx) (it changes one setting), then show the settings again;
    a refusal from the services becomes an alert."""

    @functools.wraps(fn)
    def run(ctx: BotContext) -> None:
        try:
            fn(ctx)
        except NotificationError as exc:
            ctx.answer(str(exc), alert=True)
            return
        ctx.answer(_("Saved."))
        text, buttons = _settings_view(ctx.customer)
        ctx.edit(text, buttons=buttons, parse_mode=None)

    return run


@_setting_changed
def type_pressed(ctx: BotContext) -> None:
    services.settings_toggle_type(customer=ctx.customer, type=ctx.match.group(1))


@_setting_changed
def quiet_hours_pressed(ctx: BotContext) -> None:
    window = services.QUIET_PRESETS[ctx.match.group(1)]
    services.settings_set_quiet_hours(customer=ctx.customer, start=window[0] if window else None,
                                      end=window[1] if window else None)


@_setting_changed
def daily_limit_pressed(ctx: BotContext) -> None:
    services.settings_set_daily_limit(customer=ctx.customer, limit=int(ctx.match.group(1)))


# --- admins: processing and scans -----------------------------------------------------------------------

def process_notifications(ctx: BotContext) -> None:
    result = services.notification_process(time_budget=10.0)
    ctx.reply(_("Processed: %(sent)s sent, %(failed)s failed, %(retried)s to retry, %(deferred)s deferred, "
                "%(blocked)s blocked, %(cancelled)s cancelled.") % result.__dict__)


def check_expiries(ctx: BotContext) -> None:
    created = services.notification_scan_expiries()
    ctx.reply(_("Expiry check: %(n)s new notification(s) queued.") % {"n": created})


def check_wallets(ctx: BotContext) -> None:
    created = services.notification_scan_wallets()
    ctx.reply(_("Wallet check: %(n)s new low-balance notification(s) queued.") % {"n": created})


def notification_stats(ctx: BotContext) -> None:
    data = selectors.stats(days=7)
    t = data["totals"]
    rate = "—" if data["delivery_rate"] is None else f"{data['delivery_rate'] * 100:.1f}%"
    lines = [_("📊 Notifications, last 7 days"),
             _("Sent %(sent)s · Failed %(failed)s · Deferred %(deferred)s · Blocked %(blocked)s") % t,
             _("Delivery rate: %(rate)s · Pending now: %(pending)s") % {"rate": rate, "pending": data["pending"]}, ""]
    for row in data["rows"][-20:]:
        lines.append(f"{row['day'][5:]} {types.LABELS.get(row['type'], row['type'])}: "
                     f"{row['sent']}/{row['failed']}/{row['deferred']}/{row['blocked']}")
    if data["rows"]:
        lines.append(_("(sent/failed/deferred/blocked)"))
    ctx.reply("\n".join(lines), parse_mode=None)
    if data["rows"]:
        ctx.reply_photo(("stats.png", selectors.stats_chart(data)), caption=_("Notifications per day"))


# --- admins: broadcasts -------------------------------------------------------------------------------------

def send_broadcast(ctx: BotContext) -> None:
    dialog.dialog_start(user_id=ctx.user_id, name=BROADCAST_DIALOG)
    ctx.reply(_("📣 Send me the broadcast: a text, or a photo with a caption.\nTo add link buttons, end it with lines "
                "like [Our channel](https://t.me/example).\n/cancel to stop."), parse_mode=None)


@dialog.step(BROADCAST_DIALOG)
def broadcast_message(ctx: BotContext, data: dict) -> None:
    message = ctx.message
    photo = message.photo[-1].file_id if message and message.photo else ""
    raw = (message.caption if photo else ctx.text) if message else ""
    text, buttons = split_buttons(raw or "")
    try:
        b = services.broadcast_create(created_by=ctx.user_id, text=text, photo=photo, buttons=buttons)
    except NotificationError as exc:
        ctx.reply(str(exc) + "\n" + _("Send it again, or /cancel."), parse_mode=None)
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    rows = [[(str(a.label), f"bc:a:{b.pk}:{a.key}")] for a in audiences.audiences(with_params=False)]
    rows.append([(_("✖️ Discard"), f"bc:x:{b.pk}")])
    ctx.reply(_("Who should receive it?"), buttons=rows)


def _broadcast_pressed(fn):
    """A broadcast button: fn(ctx, broadcast) for the broadcast of the pattern's id group, or an
    alert when it no longer exists; a refusal from the services becomes an alert."""

    @functools.wraps(fn)
    def run(ctx: BotContext) -> None:
        b = selectors.broadcast_get(broadcast_id=ctx.match.group("id"))
        if b is None:
            ctx.answer(_("This broadcast no longer exists."), alert=True)
            return
        try:
            fn(ctx, b)
        except NotificationError as exc:
            ctx.answer(str(exc), alert=True)

    return run


def _show_progress(ctx: BotContext, b: Broadcast) -> None:
    text, buttons = services.broadcast_progress_text(broadcast=b, language=ctx.language)
    ctx.edit(text, buttons=buttons or None, parse_mode=None)


@_broadcast_pressed
def audience_pressed(ctx: BotContext, b: Broadcast) -> None:
    """The audience chosen: show the preview and ask for confirmation with the count."""
    b = services.broadcast_configure(broadcast_id=b.pk, audience=ctx.match.group("audience"))
    count = selectors.broadcast_audience_count(broadcast=b)
    ctx.edit(_("Audience: %(audience)s. Here is the preview:") % {"audience": audiences.get_audience(b.audience).label},
             parse_mode=None)
    buttons = [[tuple(x) for x in row] for row in b.buttons] or None
    if b.photo:
        ctx.reply_photo(b.photo, caption=b.text, buttons=buttons)
    else:
        ctx.reply(b.text, buttons=buttons, parse_mode=None)
    rows = [[(_("✅ Send to %(n)s recipients") % {"n": count}, f"bc:go:{b.pk}")]]
    if settings.NOTIFICATION_ALLOW_PAID_BROADCAST:
        rows.append([(_("💎 Send fast (paid broadcast)"), f"bc:gp:{b.pk}")])
    rows.append([(_("✖️ Discard"), f"bc:x:{b.pk}")])
    ctx.reply(_("Send this broadcast to %(n)s recipients?") % {"n": count}, buttons=rows)


@_broadcast_pressed
def go_pressed(ctx: BotContext, b: Broadcast) -> None:
    """Start it (gp: as a paid broadcast); the pressed message becomes the progress message."""
    if ctx.match.group("how") == "gp":
        services.broadcast_configure(broadcast_id=b.pk, paid=True)
    message_id = ctx.callback.message.message_id if ctx.callback and ctx.callback.message else None
    b = services.broadcast_start(broadcast_id=b.pk, progress_chat_id=ctx.chat_id, progress_message_id=message_id)
    ctx.answer(_("Started."))
    _show_progress(ctx, b)
    services.broadcast_run_later(b.pk)


@_broadcast_pressed
def pause_pressed(ctx: BotContext, b: Broadcast) -> None:
    _show_progress(ctx, services.broadcast_pause(broadcast_id=b.pk))


@_broadcast_pressed
def resume_pressed(ctx: BotContext, b: Broadcast) -> None:
    b = services.broadcast_resume(broadcast_id=b.pk)
    _show_progress(ctx, b)
    services.broadcast_run_later(b.pk)


@_broadcast_pressed
def show_pressed(ctx: BotContext, b: Broadcast) -> None:
    _show_progress(ctx, b)


@_broadcast_pressed
def cancel_pressed(ctx: BotContext, b: Broadcast) -> None:
    ctx.edit(_("Cancel broadcast #%(id)s? Messages already sent stay sent.") % {"id": b.pk},
             buttons=[[(_("Yes, cancel it"), f"bc:cc:{b.pk}"), (_("No, go back"), f"bc:s:{b.pk}")]], parse_mode=None)


@_broadcast_pressed
def cancel_confirmed(ctx: BotContext, b: Broadcast) -> None:
    _show_progress(ctx, services.broadcast_cancel(broadcast_id=b.pk))


@_broadcast_pressed
def discard_pressed(ctx: BotContext, b: Broadcast) -> None:
    services.broadcast_cancel(broadcast_id=b.pk)
    ctx.edit(_("Broadcast discarded."), parse_mode=None)


def register(application) -> None:
    add_command(application, "notifications", my_notifications)
    add_command(application, "notification_settings", notification_settings)
    add_callback(application, r"^ns:t:(\w+)$", type_pressed)
    quiet = "|".join(re.escape(key) for key in services.QUIET_PRESETS)
    add_callback(application, rf"^ns:q:({quiet})$", quiet_hours_pressed)
    add_callback(application, r"^ns:l:(\d+)$", daily_limit_pressed)
    add_command(application, "process_notifications", process_notifications, admin=True)
    add_command(application, "check_expiries", check_expiries, admin=True)
    add_command(application, "check_wallets", check_wallets, admin=True)
    add_command(application, "notification_stats", notification_stats, admin=True)
    add_command(application, "send_broadcast", send_broadcast, admin=True)
    add_callback(application, r"^bc:a:(?P<id>\d+):(?P<audience>[^:]+)$", audience_pressed, admin=True)
    add_callback(application, r"^bc:(?P<how>go|gp):(?P<id>\d+)$", go_pressed, admin=True)
    add_callback(application, r"^bc:p:(?P<id>\d+)$", pause_pressed, admin=True)
    add_callback(application, r"^bc:r:(?P<id>\d+)$", resume_pressed, admin=True)
    add_callback(application, r"^bc:s:(?P<id>\d+)$", show_pressed, admin=True)
    add_callback(application, r"^bc:c:(?P<id>\d+)$", cancel_pressed, admin=True)
    add_callback(application, r"^bc:cc:(?P<id>\d+)$", cancel_confirmed, admin=True)
    add_callback(application, r"^bc:x:(?P<id>\d+)$", discard_pressed, admin=True)
    scheduled.register(application)
