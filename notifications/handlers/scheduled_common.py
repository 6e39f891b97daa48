"""What the scheduled messages' bot handlers share: the reader's calendar, the admin-only dialog
step, the draft, the buttons' wrapper, and the summary an operator reads before scheduling
and in the list (notifications.handlers.scheduled and .scheduled_list)."""

from __future__ import annotations

import functools

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.core import dates
from vpnbot.shop import audiences
from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext

from .. import selectors, services
from ..models import ScheduledMessage
from ..services import NotificationError

Status = ScheduledMessage.Status


def _calendar(ctx: BotContext) -> str:
    return dates.calendar_for(ctx.language, settings.CALENDAR)


def _again() -> str:
    return "\n" + _("Send it again, or /cancel.")


def _admin_step(ctx: BotContext) -> bool:
    """A dialog step runs for an admin only; anyone else's dialog ends."""
    if ctx.is_admin:
        return True
    dialog.dialog_clear(user_id=ctx.user_id)
    return False


def _draft_of(ctx: BotContext, data: dict) -> ScheduledMessage | None:
    """The dialog's draft, or None (and the dialog ends) when it is gone or no longer a draft."""
    message = selectors.scheduled_get(message_id=data.get("id", ""))
    if message is None or message.status != Status.DRAFT:
        dialog.dialog_clear(user_id=ctx.user_id)
        ctx.reply(_("This draft is gone. Start again with /schedule_message."), parse_mode=None)
        return None
    return message


def _pressed(draft_only: bool = True):
    """A button of a scheduled message (the pattern's id group): fn(ctx, message); an alert when
    it is gone (or, for the dialog's buttons, no longer a draft) and for a refusal."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(ctx: BotContext) -> None:
            message = selectors.scheduled_get(message_id=ctx.match.group("id"))
            if message is None:
                ctx.answer(_("This scheduled message no longer exists."), alert=True)
                return
            if draft_only and message.status != Status.DRAFT:
                ctx.answer(_("Scheduled message #%(id)s is already %(status)s.") % {
                    "id": message.pk, "status": message.get_status_display()}, alert=True)
                return
            try:
                fn(ctx, message)
            except NotificationError as exc:
                ctx.answer(str(exc), alert=True)

        return run

    return wrap


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def summary(message: ScheduledMessage, calendar: str) -> str:
    """What an operator checks before scheduling, and reads in the list."""
    upcoming = services.scheduled_upcoming(message, limit=3)
    zone = _("each customer's own clock") if message.local_time else message.time_zone
    lines = [_("🗓 Scheduled message #%(id)s (%(status)s)") % {"id": message.pk, "status": message.get_status_display()},
             _("First time: %(when)s (%(zone)s)") % {
                 "when": dates.instant_text(message.starts_at, message.time_zone, calendar) if message.starts_at else "—",
                 "zone": zone},
             _("Repeat: %(rule)s") % {"rule": services.scheduled_describe(message, calendar=calendar)}]
    if upcoming:
        lines.append(_("Next: %(times)s") % {"times": ", ".join(dates.wall_text(u.wall, calendar) for u in upcoming)})
    try:
        count = audiences.audience_queryset(message.audience, message.audience_params or None).count()
    except (audiences.AudienceError, KeyError):
        count = 0
    lines.append(_("Audience: %(audience)s (%(n)s now)") % {
        "audience": audiences.audience_describe(message.audience, message.audience_params), "n": count})
    lines.append(_("At each customer's local time: %(local)s · Pin: %(pin)s · Urgent: %(urgent)s") % {
        "local": _yes_no(message.local_time), "pin": _yes_no(message.pin), "urgent": _yes_no(message.urgent)})
    return "\n".join(lines)
