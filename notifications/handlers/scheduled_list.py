"""/scheduled_messages (what is coming) and /cancel_scheduled (after asking), for admins."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.core import dates
from vpnbot.core.numbers import parse_whole_number
from vpnbot.shop import audiences
from vpnbot.transport.bot import BotContext

from .. import selectors, services
from ..models import ScheduledMessage
from .scheduled_common import Status, _calendar, _pressed, summary

LISTED = 20


def _line(message: ScheduledMessage, calendar: str) -> str:
    upcoming = services.scheduled_upcoming(message, limit=1)
    when = dates.wall_text(upcoming[0].wall, calendar) if upcoming else _("sending now")
    flags = ("📌" if message.pin else "") + ("⚡" if message.urgent else "") + ("🕒" if message.local_time else "")
    snippet = " ".join((message.text or _("(a file)")).split())
    snippet = snippet[:60] + ("…" if len(snippet) > 60 else "")
    return _("#%(id)s · next %(when)s · %(rule)s · %(audience)s %(flags)s\n    %(text)s") % {
        "id": message.pk, "when": when, "rule": services.scheduled_describe(message, calendar=calendar),
        "audience": audiences.audience_describe(message.audience, message.audience_params), "flags": flags,
        "text": snippet}


def scheduled_messages(ctx: BotContext) -> None:
    items = selectors.scheduled_upcoming_list(limit=LISTED)
    if not items:
        ctx.reply(_("Nothing is scheduled. /schedule_message schedules a message."), parse_mode=None)
        return
    calendar = _calendar(ctx)
    lines = [_("🗓 Scheduled messages (the next first):")] + [_line(m, calendar) for m in items]
    rows = [[(_("✖️ Cancel #%(id)s") % {"id": m.pk}, f"sm:c:{m.pk}")] for m in items]
    ctx.reply("\n".join(lines), buttons=rows, parse_mode=None)


def _ask_cancel(ctx: BotContext, message: ScheduledMessage, *, edit: bool) -> None:
    text = summary(message, _calendar(ctx)) + "\n\n" + _(
        "Cancel scheduled message #%(id)s? Nothing more of it will be sent; what was sent stays.") % {"id": message.pk}
    buttons = [[(_("Yes, cancel it"), f"sm:cc:{message.pk}"), (_("No, keep it"), f"sm:k:{message.pk}")]]
    (ctx.edit if edit else ctx.reply)(text, buttons=buttons, parse_mode=None)


def cancel_scheduled(ctx: BotContext) -> None:
    if not ctx.args:
        scheduled_messages(ctx)
        return
    message = selectors.scheduled_get(message_id=parse_whole_number(ctx.args[0], max_digits=18) or "")
    if message is None or message.status not in (Status.SCHEDULED, Status.RUNNING):
        ctx.reply(_("No scheduled message #%(id)s is coming. /scheduled_messages lists them.") % {"id": ctx.args[0]},
                  parse_mode=None)
        return
    _ask_cancel(ctx, message, edit=False)


@_pressed(draft_only=False)
def cancel_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    _ask_cancel(ctx, message, edit=True)


@_pressed(draft_only=False)
def cancel_confirmed(ctx: BotContext, message: ScheduledMessage) -> None:
    services.scheduled_cancel(message_id=message.pk)
    ctx.answer(_("Cancelled."))
    ctx.edit(_("Scheduled message #%(id)s is cancelled.") % {"id": message.pk}, parse_mode=None)


@_pressed(draft_only=False)
def keep_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    ctx.edit(_("Kept: scheduled message #%(id)s goes on.") % {"id": message.pk}, parse_mode=None)
