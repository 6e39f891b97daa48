"""Scheduled messages: define one (its content, audience, first time and repeat), check it,
preview it to the operator, schedule it, change it until it starts, cancel it. The due job
that sends them is scheduled_run; their rule is scheduled_recurrence; whom they reach,
scheduled_audience."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core import dates
from vpnbot.core.numbers import latin_digits
from vpnbot.transport import messages
from vpnbot.transport.permissions import is_admin

from ..models import Broadcast, ScheduledMessage, ScheduledOccurrence
from . import scheduled_recurrence as recurrence
from .broadcasts import broadcast_cancel
from .errors import NotificationError
from .scheduled_audience import audience_check
from .scheduled_content import scheduled_clean_content

Status = ScheduledMessage.Status
LATE_START = timedelta(minutes=1)  # a first time this much in the past is still "now"
EARLIEST_ZONE, LATEST_ZONE = timedelta(hours=14), timedelta(hours=12)  # UTC+14 … UTC-12
# The fields an operator sets; the timing ones move the schedule (and reset its due job cursor).
FIELDS = ("text", "media_type", "media", "buttons", "audience", "audience_params", "starts_at", "time_zone", "local_time",
          "repeat", "interval", "weekdays", "month_day", "calendar", "rrule", "until", "count", "pin", "urgent",
          "operator_chat_id")
TIMING = ("starts_at", "time_zone", "local_time", "repeat", "interval", "weekdays", "month_day", "calendar", "rrule",
          "until", "count")
# What Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
# --- time ------------------------------------------------------------------------------------------------

def scheduled_parse_time(value, zone_name: str) -> datetime:
    """The first time: an aware datetime, or a text ("1405/01/01 10:00", "2026-03-21 10:00",
    ISO 8601 with an offset) read on the zone's clock; NotificationError otherwise."""
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            return dates.localise(value, zone_name)
        return value.astimezone(UTC)
    try:
        return dates.parse_datetime(str(value or ""), zone_name)
    except dates.DateError as exc:
        raise NotificationError(str(exc)) from None


def scheduled_parse_day(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return dates.parse_day(str(value))
    except dates.DateError as exc:
        raise NotificationError(str(exc)) from None


def _whole(value, name: str, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    text = latin_digits(str(value)).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit() and len(text) <= 6) or not low <= int(text) <= high:
        raise NotificationError(_("%(name)s: a whole number from %(low)s to %(high)s.") % {
            "name": name, "low": low, "high": high})
    return int(text)


def open_time(message: ScheduledMessage, wall: datetime) -> datetime:
    """When the due job opens the occurrence at this clock time: the time itself on the message's
    clock, or, at each customer's local time, when the first clocks on Earth (UTC+14) show it."""
    if message.local_time:
        return wall.replace(tzinfo=UTC) - EARLIEST_ZONE
    return dates.localise(wall, message.time_zone)


def close_time(message: ScheduledMessage, wall: datetime) -> datetime:
    """When every recipient's clock has shown the occurrence's time (the last clocks: UTC-12)."""
    if message.local_time:
        return wall.replace(tzinfo=UTC) + LATEST_ZONE
    return dates.localise(wall, message.time_zone)


def _clean_timing(values: dict, *, complete: bool, now: datetime, future: bool = False) -> dict:
    zone_name = str(values.get("time_zone") or settings.TIME_ZONE)
    if not dates.is_zone(zone_name):
        raise NotificationError(_("Unknown time zone: %(name)s.") % {"name": zone_name})
    rule = (values.get("rrule") or "").strip()
    repeat = values.get("repeat") or (recurrence.RRULE if rule else recurrence.ONCE)
    if repeat not in ScheduledMessage.Repeat.values:
        raise NotificationError(_("Repeat is one of: %(values)s.") % {"values": ", ".join(ScheduledMessage.Repeat.values)})
    calendar = values.get("calendar") or ScheduledMessage._meta.get_field("calendar").get_default()
    if calendar not in ScheduledMessage.Calendar.values:
        raise NotificationError(_("The calendar is jalali or gregorian."))
    out = {
        "time_zone": zone_name, "repeat": repeat, "calendar": calendar,
        "local_time": bool(values.get("local_time")),
        "interval": _whole(values.get("interval"), _("every"), 1, 366) or 1,
        "weekdays": recurrence.parse_weekdays(values.get("weekdays") or []),
        "month_day": _whole(values.get("month_day"), _("day of the month"), 1, 31),
        "rrule": rule if repeat == recurrence.RRULE else "",
        "until": scheduled_parse_day(values.get("until")),
        "count": _whole(values.get("count"), _("times"), 1, 1000),
        "starts_at": (scheduled_parse_time(values["starts_at"], zone_name)
                      if values.get("starts_at") not in (None, "") else None),
    }
    if repeat == recurrence.ONCE:
        out.update(interval=1, weekdays=[], month_day=None, until=None, count=None)
    if repeat != recurrence.WEEKLY:
        out["weekdays"] = []
    if repeat != recurrence.MONTHLY:
        out["month_day"] = None
    if repeat == recurrence.RRULE:
        if not rule:
            raise NotificationError(_("Give the RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,TH."))
        out["interval"] = 1
    if out["starts_at"] is None:
        if complete:
            raise NotificationError(_("Give the first time."))
        return out
    start_wall = dates.wall_clock(out["starts_at"], zone_name)
    if out["until"] is not None and out["until"] < start_wall.date():
        raise NotificationError(_("The last day is before the first time."))
    rule_of = recurrence.Recurrence(
        start=start_wall, repeat=repeat, interval=out["interval"], weekdays=tuple(out["weekdays"]),
        month_day=out["month_day"], calendar=calendar, rrule=out["rrule"], until=out["until"], count=out["count"])
    rule_of.check()
    if complete or future:
        first = rule_of.first()
        if dates.localise(first, zone_name) < now - LATE_START:
            raise NotificationError(_("The first time has passed: %(when)s.") % {
                "when": dates.wall_text(first, dates.calendar_for(None, calendar))})
    return out


def _clean(values: dict, *, complete: bool, now: datetime, future: bool = False) -> dict:
    out = scheduled_clean_content(text=values.get("text", ""), media_type=values.get("media_type", ""),
                                  media=values.get("media", ""), buttons=values.get("buttons"))
    audience = str(values.get("audience") or "all")
    out["audience"] = audience
    out["audience_params"] = audience_check(audience, values.get("audience_params") or {})
    out.update(_clean_timing(values, complete=complete, now=now, future=future))
    out["pin"], out["urgent"] = bool(values.get("pin")), bool(values.get("urgent"))
    chat = values.get("operator_chat_id")
    if chat in (None, ""):
        out["operator_chat_id"] = None
    else:
        chat = _whole(chat, _("operator's chat"), 1, 10**15)
        if not is_admin(chat):
            raise NotificationError(_("The preview and the progress go to an admin's chat only."))
        out["operator_chat_id"] = chat
    return out


def _implied(changes: dict) -> dict:
    """An RRULE given without a repeat means repeat "rrule" (the API's "rrule or repeat")."""
    if changes.get("rrule") and not changes.get("repeat"):
        return {**changes, "repeat": recurrence.RRULE}
    return changes


def _current(message: ScheduledMessage) -> dict:
    return {name: getattr(message, name) for name in FIELDS}


def _reset_cursor(message: ScheduledMessage, now: datetime) -> None:
    """A schedule (re)written: forget what the due job opened for the old one (nothing of it
    was sent: only a message that has not started can change) and aim at its first time."""
    if message.pk:
        message.occurrences.all().delete()
    first = recurrence.Recurrence.of(message).first()
    message.last_wall = ""
    message.next_at = open_time(message, first) if first else None
    message.checked_at = now


# --- the operations ---------------------------------------------------------------------------------------

def scheduled_create(*, created_by: str = "", draft: bool = False, **values) -> ScheduledMessage:
    """A scheduled message; a draft (the bot's dialog fills it in step by step) may still lack
    its first time, and is scheduled with scheduled_schedule. Raises NotificationError."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    now = timezone.now()
    clean = _clean(values, complete=not draft, now=now)
    with transaction.atomic():
        message = ScheduledMessage(created_by=str(created_by or "")[:100], created_at=now,
                                   status=Status.DRAFT if draft else Status.SCHEDULED, **clean)
        if not draft:
            _reset_cursor(message, now)
        message.save()
    return message


def scheduled_check(*, values: dict, message_id: int | None = None) -> dict:
    """The values checked as scheduled_create (a new message) or scheduled_update (changes to
    message_id) would check them, nothing written: a form's validation. NotificationError."""
    now = timezone.now()
    if message_id is None:
        return _clean(values, complete=True, now=now)
    message = ScheduledMessage.objects.get(pk=message_id)
    values = _implied(values)
    timing_changed = any(name in values for name in TIMING)
    return _clean({**_current(message), **values}, complete=message.status != Status.DRAFT and timing_changed,
                  now=now, future="starts_at" in values)


def _locked(message_id: int) -> ScheduledMessage:
    message = ScheduledMessage.objects.select_for_update().filter(pk=message_id).first()
    if message is None:
        raise NotificationError(_("This scheduled message no longer exists."))
    return message


def scheduled_update(*, message_id: int, **changes) -> ScheduledMessage:
    """Change a scheduled message until it starts (its first recipients get it); a change of
    its timing aims it at its new first time. Raises NotificationError."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    changes = _implied(changes)
    now = timezone.now()
    with transaction.atomic():
        message = _locked(message_id)
        if not message.editable:
            raise NotificationError(_("Scheduled message #%(id)s has started (or ended): it can no longer be changed; "
                                      "cancel it and schedule a new one.") % {"id": message.pk})
        values = {**_current(message), **changes}
        timing_changed = any(name in changes for name in TIMING)
        clean = _clean(values, complete=message.status != Status.DRAFT and timing_changed, now=now,
                       future="starts_at" in changes)
        for name, value in clean.items():
            setattr(message, name, value)
        if message.status == Status.SCHEDULED and timing_changed:
            _reset_cursor(message, now)
        message.save()
    return message


def scheduled_schedule(*, message_id: int) -> ScheduledMessage:
    """A draft, complete and checked, is scheduled: the due job sends it from its first time."""
    now = timezone.now()
    with transaction.atomic():
        message = _locked(message_id)
        if message.status != Status.DRAFT:
            raise NotificationError(_("Scheduled message #%(id)s is already %(status)s.") % {
                "id": message.pk, "status": message.get_status_display()})
        clean = _clean(_current(message), complete=True, now=now)
        for name, value in clean.items():
            setattr(message, name, value)
        message.status = Status.SCHEDULED
        _reset_cursor(message, now)
        message.save()
    return message


def scheduled_cancel(*, message_id: int) -> ScheduledMessage:
    """No more occurrences; an occurrence being sent stops (what is sent stays sent)."""
    with transaction.atomic():
        message = _locked(message_id)
        if message.status in (Status.DONE, Status.CANCELLED):
            raise NotificationError(_("Scheduled message #%(id)s is already %(status)s.") % {
                "id": message.pk, "status": message.get_status_display()})
        now = timezone.now()
        message.status, message.finished_at, message.next_at = Status.CANCELLED, now, None
        message.save(update_fields=["status", "finished_at", "next_at", "updated_at"])
        running = list(ScheduledOccurrence.objects.filter(message=message, status=ScheduledOccurrence.Status.OPEN))
        for occurrence in running:
            b = occurrence.broadcast
            if b is not None and b.status in (Broadcast.Status.RUNNING, Broadcast.Status.PAUSED, Broadcast.Status.DRAFT):
                broadcast_cancel(broadcast_id=b.pk)
        ScheduledOccurrence.objects.filter(pk__in=[o.pk for o in running]).update(
            status=ScheduledOccurrence.Status.CANCELLED, finished_at=now, note="cancelled")
    return message


def scheduled_discard(*, message_id: int) -> bool:
    """Delete a draft (the bot's "Discard"); False when it is no draft (any more)."""
    return ScheduledMessage.objects.filter(pk=message_id, status=Status.DRAFT).delete()[0] > 0


def scheduled_preview(*, message_id: int, chat_id: int) -> int | None:
    """Send the message now to an operator's chat, exactly as its recipients will see it;
    returns Telegram's message id. Raises NotificationError when Telegram refuses it."""
    message = ScheduledMessage.objects.filter(pk=message_id).first()
    if message is None:
        raise NotificationError(_("This scheduled message no longer exists."))
    buttons = [[tuple(b) for b in row] for row in message.buttons] or None
    try:
        return messages.send_now(chat_id, message.text, photo=message.media, media_type=message.media_type or "photo",
                                 buttons=buttons, parse_mode="HTML")
    except messages.TelegramError as exc:
        raise NotificationError(_("Telegram did not take the preview: %(error)s") % {"error": exc.description}) from None


# --- what is coming (read-only: the API's next occurrences, the admin's calendar, the bot's list) ---------------

@dataclass(frozen=True)
class Upcoming:
    message: ScheduledMessage
    wall: datetime  # the clock time (on the message's clock, or on each customer's own)
    at: datetime  # that clock time on the message's clock
    open: bool = False  # being sent now (at local time: some time zones are still to come)


def scheduled_describe(message: ScheduledMessage, *, calendar: str) -> str:
    """Its repeat in words ("Every week on Saturday, Monday, 5 times")."""
    if message.starts_at is None:
        return message.get_repeat_display()
    return recurrence.Recurrence.of(message).describe(calendar)


def scheduled_upcoming(message: ScheduledMessage, *, limit: int = 5) -> list[Upcoming]:
    """The message's next occurrences not yet opened by the due job (none once it has ended)."""
    if message.status not in (Status.SCHEDULED, Status.RUNNING, Status.DRAFT) or message.starts_at is None:
        return []
    rule = recurrence.Recurrence.of(message)
    after = recurrence.wall_from_key(message.last_wall) if message.last_wall else None
    out = []
    for wall in rule.walls(after):
        if len(out) >= limit:
            break
        out.append(Upcoming(message, wall, dates.localise(wall, message.time_zone)))
    return out


def scheduled_calendar(*, days: int = 31, now: datetime | None = None, per_message: int = 100) -> list[tuple[date, list[Upcoming]]]:
    """The occurrences of the next `days` days (and those being sent now), by day of their clock
    time, in order: the admin's calendar."""
    now = now or timezone.now()
    end = now + timedelta(days=days)
    items: list[Upcoming] = []
    live = ScheduledMessage.objects.filter(status__in=[Status.SCHEDULED, Status.RUNNING])
    for occurrence in ScheduledOccurrence.objects.filter(status=ScheduledOccurrence.Status.OPEN,
                                                         message__in=live).select_related("message"):
        items.append(Upcoming(occurrence.message, recurrence.wall_from_key(occurrence.wall), occurrence.at, open=True))
    for message in live:
        for item in scheduled_upcoming(message, limit=per_message):
            if item.at > end:
                break
            items.append(item)
    items.sort(key=lambda u: (u.wall, u.message.pk))
    by_day: dict[date, list[Upcoming]] = {}
    for item in items:
        by_day.setdefault(item.wall.date(), []).append(item)
    return sorted(by_day.items())
