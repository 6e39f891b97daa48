"""Scheduled messages in the bot, for admins.

/schedule_message is a dialog on a draft (ScheduledMessage, status draft) that each step fills
in: 1. the message (a text, or a photo, video or document with a caption, link buttons as trailing
[Label](https://…) lines); 2. the first time (Jalali or Gregorian, on the shop's clock); 3. how
often (once, daily, weekly on days, monthly on a day, an RRULE) and until when; 4. the audience
and its parameter. The preview then goes to the admin exactly as customers will see it, with a
summary (the next times, the audience's size now) and switches for each customer's local time,
pin and urgent, and "Schedule it" or "Discard".

/scheduled_messages lists what is coming; /cancel_scheduled [id] cancels one after asking.

Callback data: sm:<what>:<message id>[:<value>], at most 64 bytes."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core import dates
from vpnbot.core.numbers import parse_whole_number
from vpnbot.shop import audiences
from vpnbot.transport import dialog, messages
from vpnbot.transport.bot import BotContext, add_callback, add_command

from .. import services
from ..models import ScheduledMessage
from ..services import NotificationError
from ..services.scheduled_recurrence import DAY_NAMES, WEEK_ORDER
from .common import split_buttons
from .scheduled_common import _admin_step, _again, _calendar, _draft_of, _pressed, summary
from .scheduled_list import cancel_confirmed, cancel_pressed, cancel_scheduled, keep_pressed, scheduled_messages

CONTENT, WHEN, MONTH_DAY, RRULE, END, PARAM = (f"notifications:schedule:{step}" for step in
                                               ("content", "when", "month_day", "rrule", "end", "param"))
MAX_CSV_BYTES = 512 * 1024


# --- step 1: the message ------------------------------------------------------------------------------------

def schedule_message(ctx: BotContext) -> None:
    dialog.dialog_start(user_id=ctx.user_id, name=CONTENT)
    ctx.reply(_("🗓 New scheduled message, step 1 of 4: send the message: a text (formatted in Telegram, or with "
                "HTML such as <b>bold</b>), or a photo, video or document with a caption.\nFor link buttons, end it "
                "with lines like "
                "[Our channel](https://t.me/example).\n/cancel to stop."), parse_mode=None)


# entities that are formatting (not links or mentions Telegram found in the text by itself)
_FORMATTING = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre", "text_link",
                         "blockquote", "expandable_blockquote", "custom_emoji"})


def _content_of(message) -> tuple[str, str, str]:
    """(text, media type, file_id) of a message: its text, or a photo, video or document with its
    caption. Formatted with Telegram's own tools, it is read as HTML (Telegram gives the
    formatting as entities); else it is taken as typed, so typed HTML tags work too."""
    if message is None:
        return "", "", ""
    media_type, media = "", ""
    if message.photo:
        media_type, media = "photo", message.photo[-1].file_id
    elif message.video:
        media_type, media = "video", message.video.file_id
    elif message.document:
        media_type, media = "document", message.document.file_id
    entities = (message.caption_entities if media else message.entities) or ()
    formatted = any(str(e.type) in _FORMATTING for e in entities)
    if media:
        return (message.caption_html if formatted else message.caption) or "", media_type, media
    return (message.text_html if formatted else message.text) or "", "", ""


@dialog.step(CONTENT)
def content_step(ctx: BotContext, data: dict) -> None:
    if not _admin_step(ctx):
        return
    raw, media_type, media = _content_of(ctx.message)
    text, buttons = split_buttons(raw)
    try:
        message = services.scheduled_create(draft=True, created_by=ctx.actor, operator_chat_id=ctx.user_id, text=text,
                                            media_type=media_type, media=media, buttons=buttons)
    except NotificationError as exc:
        ctx.reply(str(exc) + _again(), parse_mode=None)
        return
    dialog.dialog_start(user_id=ctx.user_id, name=WHEN, data={"id": message.pk})
    tomorrow = dates.wall_clock(timezone.now() + timedelta(days=1), message.time_zone).replace(hour=10, minute=0)
    ctx.reply(_("Step 2 of 4: when should it go first? Send the date and time on the shop's clock (%(zone)s), "
                "for example %(example)s.\n/cancel to stop.") % {
        "zone": message.time_zone, "example": dates.wall_text(tomorrow, _calendar(ctx))}, parse_mode=None)


# --- step 2: the first time; step 3: how often and until when ----------------------------------------------------

@dialog.step(WHEN)
def when_step(ctx: BotContext, data: dict) -> None:
    if not _admin_step(ctx) or (message := _draft_of(ctx, data)) is None:
        return
    try:
        services.scheduled_update(message_id=message.pk, starts_at=ctx.text)
    except NotificationError as exc:
        ctx.reply(str(exc) + _again(), parse_mode=None)
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    i = message.pk
    ctx.reply(_("Step 3 of 4: how often?"), parse_mode=None, buttons=[
        [(_("Once"), f"sm:r:{i}:once"), (_("Every day"), f"sm:r:{i}:daily")],
        [(_("Weekly…"), f"sm:r:{i}:weekly"), (_("Monthly…"), f"sm:r:{i}:monthly")],
        [(_("A rule (RRULE)…"), f"sm:r:{i}:rrule")], [(_("✖️ Discard"), f"sm:x:{i}")]])


@_pressed()
def repeat_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    repeat = ctx.match.group("repeat")
    if repeat == "once":
        message = services.scheduled_update(message_id=message.pk, repeat="once")
        _ask_audience(ctx, message)
    elif repeat == "daily":
        services.scheduled_update(message_id=message.pk, repeat="daily")
        _ask_end(ctx, message)
    elif repeat == "weekly":
        first_day = dates.wall_clock(message.starts_at, message.time_zone).weekday()
        message = services.scheduled_update(message_id=message.pk, repeat="weekly", weekdays=[first_day])
        ctx.edit(_("On which days of the week? Tap to choose, then ✔️."), buttons=_weekday_buttons(ctx, message),
                 parse_mode=None)
    elif repeat == "monthly":
        calendar = _calendar(ctx)
        services.scheduled_update(message_id=message.pk, repeat="monthly", calendar=calendar)
        dialog.dialog_start(user_id=ctx.user_id, name=MONTH_DAY, data={"id": message.pk})
        months = _("Jalali") if calendar == dates.JALALI else _("Gregorian")
        ctx.edit(_("On which day of the (%(months)s) month? Send 1 to 31; 29 to 31 mean the last day of a shorter "
                   "month.\n/cancel to stop.") % {"months": months}, parse_mode=None)
    else:
        dialog.dialog_start(user_id=ctx.user_id, name=RRULE, data={"id": message.pk})
        ctx.edit(_("Send an RFC 5545 rule from the first time on, for example FREQ=WEEKLY;BYDAY=MO,TH or "
                   "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1 (the last Friday).\n/cancel to stop."), parse_mode=None)


def _weekday_buttons(ctx: BotContext, message: ScheduledMessage) -> list:
    chosen = set(message.weekdays or [])
    days = [(("✅ " if d in chosen else "") + str(DAY_NAMES[d]), f"sm:wd:{message.pk}:{d}")
            for d in WEEK_ORDER[_calendar(ctx)]]
    return [days[:4], days[4:], [(_("✔️ These days"), f"sm:wdok:{message.pk}")]]


@_pressed()
def weekday_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    days = set(message.weekdays or [])
    days ^= {int(ctx.match.group("day"))}
    message = services.scheduled_update(message_id=message.pk, weekdays=sorted(days))
    ctx.answer()
    ctx.edit(_("On which days of the week? Tap to choose, then ✔️."), buttons=_weekday_buttons(ctx, message),
             parse_mode=None)


@_pressed()
def weekdays_done(ctx: BotContext, message: ScheduledMessage) -> None:
    _ask_end(ctx, message)


@dialog.step(MONTH_DAY)
def month_day_step(ctx: BotContext, data: dict) -> None:
    if not _admin_step(ctx) or (message := _draft_of(ctx, data)) is None:
        return
    day = parse_whole_number(ctx.text, max_digits=2)
    try:
        if day is None:
            raise NotificationError(_("Send a day of the month, 1 to 31."))
        services.scheduled_update(message_id=message.pk, month_day=day)
    except NotificationError as exc:
        ctx.reply(str(exc) + _again(), parse_mode=None)
        return
    _ask_end(ctx, message)


@dialog.step(RRULE)
def rrule_step(ctx: BotContext, data: dict) -> None:
    if not _admin_step(ctx) or (message := _draft_of(ctx, data)) is None:
        return
    try:
        services.scheduled_update(message_id=message.pk, repeat="rrule", rrule=ctx.text.strip())
    except NotificationError as exc:
        ctx.reply(str(exc) + _again(), parse_mode=None)
        return
    _ask_end(ctx, message)


def _ask_end(ctx: BotContext, message: ScheduledMessage) -> None:
    dialog.dialog_start(user_id=ctx.user_id, name=END, data={"id": message.pk})
    example = dates.day_text(dates.wall_clock(message.starts_at, message.time_zone).date() + timedelta(days=90),
                             _calendar(ctx))
    ctx.reply(_("Until when? Send the last day (for example %(example)s) or how many times (for example 10), or "
                "tap No end.\n/cancel to stop.") % {"example": example}, parse_mode=None,
              buttons=[[(_("No end"), f"sm:ne:{message.pk}")]])


@dialog.step(END)
def end_step(ctx: BotContext, data: dict) -> None:
    if not _admin_step(ctx) or (message := _draft_of(ctx, data)) is None:
        return
    times = parse_whole_number(ctx.text, max_digits=4)
    try:
        if times is not None:
            message = services.scheduled_update(message_id=message.pk, count=times, until=None)
        else:
            message = services.scheduled_update(message_id=message.pk, until=ctx.text, count=None)
    except NotificationError as exc:
        ctx.reply(str(exc) + _again(), parse_mode=None)
        return
    _ask_audience(ctx, message)


@_pressed()
def no_end_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    message = services.scheduled_update(message_id=message.pk, until=None, count=None)
    ctx.answer()
    _ask_audience(ctx, message)


# --- step 4: the audience ------------------------------------------------------------------------------------------

def _ask_audience(ctx: BotContext, message: ScheduledMessage) -> None:
    dialog.dialog_clear(user_id=ctx.user_id)
    rows = [[(str(a.label), f"sm:a:{message.pk}:{a.key}")] for a in audiences.audiences()]
    rows.append([(_("✖️ Discard"), f"sm:x:{message.pk}")])
    ctx.reply(_("Step 4 of 4: who should receive it? (Who belongs is decided each time it is sent.)"), buttons=rows,
              parse_mode=None)


@_pressed()
def audience_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    audience = audiences.get_audience(ctx.match.group("audience"))
    if audience is None:
        ctx.answer(_("This button is no longer valid. Please start again."), alert=True)
        return
    if not audience.params:
        message = services.scheduled_update(message_id=message.pk, audience=audience.key, audience_params={})
        ctx.answer()
        _options(ctx, message, preview=True)
        return
    param = audience.params[0]  # the registry's audiences take one parameter each
    dialog.dialog_start(user_id=ctx.user_id, name=PARAM, data={"id": message.pk, "audience": audience.key,
                                                               "param": param.name})
    if param.kind == "choice":
        rows = [[(label, f"sm:ap:{message.pk}:{value}")] for value, label in param.choices()[:40]]
        ctx.edit(_("%(audience)s: which %(name)s?") % {"audience": audience.label, "name": param.label},
                 buttons=rows or None, parse_mode=None)
    elif param.kind == "ids":
        ctx.edit(_("Send the Telegram ids: a CSV file, or the ids in a message, one per line or separated by "
                   "commas.\n/cancel to stop."), parse_mode=None)
    else:
        ctx.edit(_("%(audience)s: send the %(name)s, a whole number from %(low)s to %(high)s.\n/cancel to stop.") % {
            "audience": audience.label, "name": param.label, "low": param.low, "high": param.high}, parse_mode=None)


def _set_audience(ctx: BotContext, message: ScheduledMessage, data: dict, value) -> ScheduledMessage:
    return services.scheduled_update(message_id=message.pk, audience=data["audience"],
                                     audience_params={data["param"]: value})


@dialog.step(PARAM)
def param_step(ctx: BotContext, data: dict) -> None:
    if not _admin_step(ctx) or (message := _draft_of(ctx, data)) is None:
        return
    value = ctx.text
    document = ctx.message.document if ctx.message else None
    if document is not None:
        if (document.file_size or 0) > MAX_CSV_BYTES:
            ctx.reply(_("The file is too large: %(kb)s KB at most.") % {"kb": MAX_CSV_BYTES // 1024}, parse_mode=None)
            return
        try:
            value = messages.download_file(document.file_id, max_bytes=MAX_CSV_BYTES).decode("utf-8", "replace")
        except messages.TelegramError as exc:
            ctx.reply(_("The file could not be read: %(error)s") % {"error": exc.description} + _again(), parse_mode=None)
            return
    try:
        message = _set_audience(ctx, message, data, value)
    except NotificationError as exc:
        ctx.reply(str(exc) + _again(), parse_mode=None)
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    _options(ctx, message, preview=True)


@_pressed()
def param_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    state = dialog.dialog_get(user_id=ctx.user_id)
    if not state or state[0] != PARAM or state[1].get("id") != message.pk:
        ctx.answer(_("This button is no longer valid. Please start again."), alert=True)
        return
    message = _set_audience(ctx, message, state[1], ctx.match.group("value"))
    dialog.dialog_clear(user_id=ctx.user_id)
    ctx.answer()
    _options(ctx, message, preview=True)


# --- the preview, the summary and the switches ------------------------------------------------------------------------

def _option_buttons(message: ScheduledMessage) -> list:
    i = message.pk
    mark = {True: "✅", False: "▫️"}
    return [[(f"{mark[message.local_time]} " + _("At each customer's local time"), f"sm:o:{i}:l")],
            [(f"{mark[message.pin]} " + _("Pin it (unpin the one before)"), f"sm:o:{i}:p")],
            [(f"{mark[message.urgent]} " + _("Urgent (also in quiet hours)"), f"sm:o:{i}:u")],
            [(_("✅ Schedule it"), f"sm:ok:{i}"), (_("✖️ Discard"), f"sm:x:{i}")]]


def _options(ctx: BotContext, message: ScheduledMessage, *, preview: bool = False) -> None:
    if preview:
        ctx.reply(_("Here is the preview, exactly as customers will see it:"), parse_mode=None)
        try:
            services.scheduled_preview(message_id=message.pk, chat_id=ctx.chat_id)
        except NotificationError as exc:
            ctx.reply(str(exc), parse_mode=None)
    ctx.reply(summary(message, _calendar(ctx)), buttons=_option_buttons(message), parse_mode=None)


@_pressed()
def option_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    name = {"l": "local_time", "p": "pin", "u": "urgent"}[ctx.match.group("option")]
    message = services.scheduled_update(message_id=message.pk, **{name: not getattr(message, name)})
    ctx.answer()
    ctx.edit(summary(message, _calendar(ctx)), buttons=_option_buttons(message), parse_mode=None)


@_pressed()
def schedule_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    message = services.scheduled_schedule(message_id=message.pk)
    ctx.answer(_("Scheduled."))
    ctx.edit(summary(message, _calendar(ctx)) + "\n\n" + _(
        "✅ Scheduled. /scheduled_messages lists what is coming; /cancel_scheduled %(id)s cancels it.") % {"id": message.pk},
        parse_mode=None)


@_pressed()
def discard_pressed(ctx: BotContext, message: ScheduledMessage) -> None:
    services.scheduled_discard(message_id=message.pk)
    dialog.dialog_clear(user_id=ctx.user_id)
    ctx.edit(_("Discarded."), parse_mode=None)


def register(application) -> None:
    add_command(application, "schedule_message", schedule_message, admin=True)
    add_command(application, "scheduled_messages", scheduled_messages, admin=True)
    add_command(application, "cancel_scheduled", cancel_scheduled, admin=True)
    i = r"(?P<id>\d{1,12})"
    add_callback(application, rf"^sm:r:{i}:(?P<repeat>once|daily|weekly|monthly|rrule)$", repeat_pressed, admin=True)
    add_callback(application, rf"^sm:wd:{i}:(?P<day>[0-6])$", weekday_pressed, admin=True)
    add_callback(application, rf"^sm:wdok:{i}$", weekdays_done, admin=True)
    add_callback(application, rf"^sm:ne:{i}$", no_end_pressed, admin=True)
    add_callback(application, rf"^sm:a:{i}:(?P<audience>[A-Za-z0-9_-]{{1,40}})$", audience_pressed, admin=True)
    add_callback(application, rf"^sm:ap:{i}:(?P<value>[A-Za-z0-9_-]{{1,40}})$", param_pressed, admin=True)
    add_callback(application, rf"^sm:o:{i}:(?P<option>[lpu])$", option_pressed, admin=True)
    add_callback(application, rf"^sm:ok:{i}$", schedule_pressed, admin=True)
    add_callback(application, rf"^sm:x:{i}$", discard_pressed, admin=True)
    add_callback(application, rf"^sm:c:{i}$", cancel_pressed, admin=True)
    add_callback(application, rf"^sm:cc:{i}$", cancel_confirmed, admin=True)
    add_callback(application, rf"^sm:k:{i}$", keep_pressed, admin=True)
