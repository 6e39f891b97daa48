"""The due job of scheduled messages (every minute from beat, and `manage.py
scheduled_messages_run`): open the occurrences whose time has come, send each due one to its
audience as it is now, through the broadcast engine (rate limit, progress, pause / resume /
cancel, 429, blocked chats, quiet hours unless urgent), and close them.

Exactly once, whatever happens:
- each message is handled by one processor at a time (its row is locked; a second processor
  skips it), and on top of that an occurrence is a row unique per (message, clock time) and a
  batch a row unique per (occurrence, time zone): whoever writes it first sends it;
- each recipient is a Notification with a dedup key per (message, occurrence, customer), so a
  batch written twice by mistake, or a customer who moved to another time zone, gets it once;
- the rows are written in one transaction with the batch: a crash leaves all or nothing, and the
  broadcast engine sends what was written (a worker dying mid-send repeats at most its sends in
  flight, as every broadcast).

A recipient's time may come while nothing runs (the server was down). On recovery the latest
missed occurrence is sent if it is at most SCHEDULED_MESSAGES_GRACE_MINUTES late, else skipped;
earlier missed ones are always skipped (never a burst of old repeats), and the admins are told
once. A time that had passed before a processor could have seen it (a customer who moved into a
time zone whose turn was over, a zone already past when the message was scheduled) is skipped
without an alert."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vpnbot.core import dates
from vpnbot.shop import audiences
from vpnbot.shop.models import Customer
from vpnbot.transport import messages

from .. import types
from ..models import Broadcast, Notification, ScheduledBatch, ScheduledMessage, ScheduledOccurrence
from . import scheduled_recurrence as recurrence
from .broadcasts import broadcast_run_later, broadcast_set_progress_message
from .delivery import _read_committed, _retrying
from .outbox import full_key, notification_alert_admins
from .progress import broadcast_progress_text, broadcast_refresh
from .scheduled import close_time, open_time
from .scheduled_audience import batch_recipients, zones
from .scheduled_pins import scheduled_pins_process

log = logging.getLogger(__name__)
Status = ScheduledMessage.Status
Occ = ScheduledOccurrence.Status
KEPT_MISSED = 100  # a long outage: the latest this many missed occurrences are kept as rows, the rest counted
ALERT_KIND = "scheduled_missed"
CHUNK = 1000
DRAFTS_KEPT = timedelta(days=7)


@dataclass
class RunResult:
    opened: int = 0
    queued: int = 0
    recipients: int = 0
    skipped: int = 0
    finished: int = 0
    busy: int = 0  # messages another processor was handling

    def add(self, other: RunResult) -> None:
        for name in ("opened", "queued", "recipients", "skipped", "finished", "busy"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Missed:
    walls: list[str] = field(default_factory=list)  # clock times skipped (and alerted)
    uncounted: int = 0  # skipped before the kept rows (a long outage)
    sent_latest: str = ""  # the latest missed one, sent within the grace period
    failed: list[str] = field(default_factory=list)  # clock times not sent: the audience could not be read
    problem: str = ""


def scheduled_messages_run(*, now: datetime | None = None) -> RunResult:
    """One pass of the due job; safe to run in several processes at once."""
    now = now or timezone.now()
    due = (ScheduledMessage.objects.filter(status__in=[Status.SCHEDULED, Status.RUNNING])
           .filter(Q(next_at__lte=now) | Q(occurrences__status=Occ.OPEN))
           .order_by("next_at", "pk").values_list("pk", flat=True).distinct())
    total = RunResult()
    for pk in list(due):
        try:
            total.add(_retrying(partial(_run_message, pk, now)))
        except Exception:  # noqa: BLE001 - one broken message must not stop the others
            log.exception("scheduled message %s could not be processed", pk)
    scheduled_pins_process(now=now)
    # drafts left behind by a dialog nobody finished
    ScheduledMessage.objects.filter(status=Status.DRAFT, updated_at__lt=now - DRAFTS_KEPT).delete()
    return total


def _lock(pk: int) -> ScheduledMessage | None:
    """The message's row for this processor, or None while another one holds it."""
    qs = ScheduledMessage.objects.filter(pk=pk)
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True).first()
    return qs.select_for_update().first()


def _run_message(pk: int, now: datetime) -> RunResult:
    result = RunResult()
    _read_committed()
    with transaction.atomic():
        message = _lock(pk)
        if message is None:
            result.busy += 1
            return result
        if message.status not in (Status.SCHEDULED, Status.RUNNING):
            return result
        seen_until = message.checked_at or message.created_at
        missed = _Missed()
        _open_due(message, now, result, missed)
        _send_due(message, now, seen_until, result, missed)
        _close_due(message, now, result)
        if message.next_at is None and not message.occurrences.filter(status=Occ.OPEN).exists():
            message.status, message.finished_at = Status.DONE, now
            result.finished += 1
        message.checked_at = max(now, message.checked_at or now)
        message.save()
        if missed.walls:
            _alert_missed(message, missed)
        if missed.failed:
            _alert_failed(message, missed)
    return result


# --- opening ---------------------------------------------------------------------------------------------

def _open_due(message: ScheduledMessage, now: datetime, result: RunResult, missed: _Missed) -> None:
    """Write an occurrence row for every clock time whose first recipients' time has come, and
    aim the cursor (next_at) at the next one."""
    if message.next_at is None or message.next_at > now:
        return
    rule = recurrence.Recurrence.of(message)
    after = recurrence.wall_from_key(message.last_wall) if message.last_wall else None
    kept: deque[datetime] = deque(maxlen=KEPT_MISSED)
    total = 0
    message.next_at = None
    for wall in rule.walls(after):
        opens = open_time(message, wall)
        if opens > now:
            message.next_at = opens
            break
        kept.append(wall)
        total += 1
    if not kept:
        return
    missed.uncounted += total - len(kept)
    ScheduledOccurrence.objects.bulk_create([
        ScheduledOccurrence(message=message, wall=recurrence.wall_key(w), at=dates.localise(w, message.time_zone),
                            opened_at=now) for w in kept], ignore_conflicts=True)
    message.last_wall = recurrence.wall_key(kept[-1])
    result.opened += len(kept)


# --- sending -----------------------------------------------------------------------------------------------

def _send_due(message: ScheduledMessage, now: datetime, seen_until: datetime, result: RunResult, missed: _Missed) -> None:
    """For each time zone (one, everyone's, unless the message goes at local time): the latest
    occurrence now due there is sent (or skipped when it is too late); earlier ones are skipped."""
    occurrences = list(message.occurrences.filter(status=Occ.OPEN).select_related("broadcast").order_by("at", "pk"))
    if not occurrences:
        return
    try:
        by_zone: dict[str, list[str] | None] = zones(message) if message.local_time else {message.time_zone: None}
    except (audiences.AudienceError, KeyError) as exc:  # a parameter gone stale (a plan removed), an app removed
        problem = _("the audience cannot be used: %(error)s") % {"error": exc}
        for occurrence in occurrences:
            at = dates.localise(recurrence.wall_from_key(occurrence.wall), message.time_zone)
            if at <= now:
                _skip(occurrence, message.time_zone, at, now, result, problem)
                missed.failed.append(occurrence.wall)
                missed.problem = problem
        return
    done = set(ScheduledBatch.objects.filter(occurrence__in=occurrences).values_list("occurrence_id", "zone"))
    grace = timedelta(minutes=settings.SCHEDULED_MESSAGES_GRACE_MINUTES)
    for zone_name, stored in sorted(by_zone.items()):
        due = []
        for occurrence in occurrences:
            if (occurrence.pk, zone_name) in done:
                continue
            at = dates.localise(recurrence.wall_from_key(occurrence.wall), zone_name)
            if at <= now:
                due.append((occurrence, at))
        if not due:
            continue
        *earlier, (latest, at) = due
        for occurrence, earlier_at in earlier:
            unseen = earlier_at > seen_until
            _skip(occurrence, zone_name, earlier_at, now, result,
                  _("missed while nothing ran; a later occurrence was due too") if unseen else _("already past"))
            if unseen:
                missed.walls.append(occurrence.wall)
        if now - at > grace:
            unseen = at > seen_until
            _skip(latest, zone_name, at, now, result,
                  _("missed while nothing ran: more than %(n)s minutes late") % {
                      "n": settings.SCHEDULED_MESSAGES_GRACE_MINUTES} if unseen else _("already past"))
            if unseen:
                missed.walls.append(latest.wall)
        else:
            if at > seen_until and earlier:
                missed.sent_latest = latest.wall
            _queue(message, latest, zone_name, at, stored, now, result)


def _skip(occurrence: ScheduledOccurrence, zone_name: str, at: datetime, now: datetime, result: RunResult, note: str) -> None:
    try:
        with transaction.atomic():
            ScheduledBatch.objects.create(occurrence=occurrence, zone=zone_name, due_at=at, status=ScheduledBatch.Status.SKIPPED,
                                          note=note[:200], created_at=now)
    except IntegrityError:  # written by another processor meanwhile
        return
    result.skipped += 1


def _queue(message: ScheduledMessage, occurrence: ScheduledOccurrence, zone_name: str, at: datetime,
           stored: list[str] | None, now: datetime, result: RunResult) -> None:
    """The batch of one time zone (or everyone): claim it, then write one pending notification
    per recipient into the occurrence's broadcast, in this transaction."""
    b = occurrence.broadcast
    if b is not None and b.status == Broadcast.Status.CANCELLED:
        _skip(occurrence, zone_name, at, now, result, _("the occurrence was cancelled"))
        return
    try:
        with transaction.atomic():
            batch = ScheduledBatch.objects.create(occurrence=occurrence, zone=zone_name, due_at=at,
                                                  status=ScheduledBatch.Status.QUEUED, created_at=now)
    except IntegrityError:
        return
    first = b is None
    if first:
        b = Broadcast.objects.create(created_by=message.operator_chat_id, text=message.text, photo=message.media,
                                     buttons=message.buttons, audience=message.audience, status=Broadcast.Status.RUNNING,
                                     created_at=now, started_at=now)
        occurrence.broadcast = b
        ScheduledOccurrence.objects.filter(pk=occurrence.pk).update(broadcast=b)
    key = f"s{message.pk}:{occurrence.wall}"
    rows: list[Notification] = []
    written = 0
    for pk, telegram_id, language in batch_recipients(message, stored).iterator(chunk_size=2000):
        rows.append(Notification(
            customer_id=pk, chat_id=telegram_id, type=types.BROADCAST, language=language or "",
            dedup_key=full_key(types.BROADCAST, pk, key), text=message.text, photo=message.media,
            media_type=message.media_type, buttons=message.buttons, parse_mode="HTML", broadcast=b,
            urgent=message.urgent, priority=5 if message.urgent else -1, source=f"scheduled:{message.pk}",
            scheduled_for=now, created_at=now))
        if len(rows) >= CHUNK:
            Notification.objects.bulk_create(rows, ignore_conflicts=True)
            written += len(rows)
            rows = []
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        written += len(rows)
    total = Notification.objects.filter(broadcast=b).count()
    update = {"total": total}
    if b.status == Broadcast.Status.DONE:  # an earlier zone's batch was finished: this one continues it
        update.update(status=Broadcast.Status.RUNNING, finished_at=None)
    Broadcast.objects.filter(pk=b.pk).update(**update)
    ScheduledBatch.objects.filter(pk=batch.pk).update(recipients=written)
    ScheduledOccurrence.objects.filter(pk=occurrence.pk).update(recipients=F("recipients") + written)
    if message.status == Status.SCHEDULED:
        message.status, message.started_at = Status.RUNNING, now
    result.queued += 1
    result.recipients += written
    if first and message.operator_chat_id:  # before the sending starts, so the engine edits it as it goes
        transaction.on_commit(partial(_report_start, b.pk, message.operator_chat_id))
    broadcast_run_later(b.pk)


def _report_start(broadcast_id: int, chat_id: int) -> None:
    """The operator's progress message of an occurrence (pause / cancel buttons), edited by the
    broadcast engine as it sends."""
    b = Broadcast.objects.filter(pk=broadcast_id).first()
    if b is None:
        return
    admin = Customer.objects.filter(telegram_id=chat_id).first()
    text, buttons = broadcast_progress_text(broadcast=b, language=admin.effective_language if admin else None)
    try:
        message_id = messages.send_now(chat_id, text, buttons=buttons or None, parse_mode="")
    except messages.TelegramError as exc:
        log.info("progress of scheduled broadcast %s not sent: %s", broadcast_id, exc.description)
        return
    if message_id:
        broadcast_set_progress_message(broadcast_id=broadcast_id, chat_id=chat_id, message_id=message_id)


# --- closing -------------------------------------------------------------------------------------------------

def _close_due(message: ScheduledMessage, now: datetime, result: RunResult) -> None:
    """An occurrence is over once every recipient's clock has shown its time and its batches are
    written: sent (some batch queued), skipped (all skipped) or cancelled (its sending was)."""
    for occurrence in message.occurrences.filter(status=Occ.OPEN).select_related("broadcast"):
        wall = recurrence.wall_from_key(occurrence.wall)
        if close_time(message, wall) > now:
            continue
        counts = dict(occurrence.batches.values_list("status").annotate(n=Count("pk")))
        b = occurrence.broadcast
        if b is not None and b.status == Broadcast.Status.CANCELLED:
            status, note = Occ.CANCELLED, occurrence.note or _("its sending was cancelled")
        elif counts.get(ScheduledBatch.Status.QUEUED):
            status, note = Occ.DONE, occurrence.note
        elif counts.get(ScheduledBatch.Status.SKIPPED):
            status, note = Occ.SKIPPED, (occurrence.batches.filter(status=ScheduledBatch.Status.SKIPPED)
                                         .values_list("note", flat=True).first() or "")
        else:
            status, note = Occ.DONE, _("nobody in the audience")
        ScheduledOccurrence.objects.filter(pk=occurrence.pk, status=Occ.OPEN).update(
            status=status, note=note[:200], finished_at=now)
        if b is not None:  # kept running while time zones were still to come: finished once nothing is left
            transaction.on_commit(partial(broadcast_refresh, broadcast_id=b.pk, force=True))


# --- telling the admins ---------------------------------------------------------------------------------------

def _alert_missed(message: ScheduledMessage, missed: _Missed) -> None:
    """Once per outage and message (the key is the latest missed clock time)."""
    skipped = sorted(set(missed.walls))
    n = len(skipped) + missed.uncounted

    def text() -> str:
        calendar = dates.calendar_for(translation.get_language(), settings.CALENDAR)
        latest = dates.wall_text(recurrence.wall_from_key(skipped[-1]), calendar)
        lines = [ngettext("🗓 Scheduled message #%(id)s missed %(n)s occurrence while nothing ran (the latest: %(when)s); "
                          "it was skipped, not sent late.",
                          "🗓 Scheduled message #%(id)s missed %(n)s occurrences while nothing ran (the latest: %(when)s); "
                          "they were skipped, not sent late.", n) % {"id": message.pk, "n": n, "when": latest}]
        if missed.sent_latest:
            lines.append(_("The occurrence of %(when)s was still within %(grace)s minutes and was sent.") % {
                "when": dates.wall_text(recurrence.wall_from_key(missed.sent_latest), calendar),
                "grace": settings.SCHEDULED_MESSAGES_GRACE_MINUTES})
        return "\n".join(lines)

    notification_alert_admins(kind=ALERT_KIND, text=text, dedup_key=f"{message.pk}:{skipped[-1]}")


def _alert_failed(message: ScheduledMessage, missed: _Missed) -> None:
    wall = sorted(missed.failed)[-1]

    def text() -> str:
        calendar = dates.calendar_for(translation.get_language(), settings.CALENDAR)
        return _("🗓 Scheduled message #%(id)s was not sent at %(when)s: %(problem)s.") % {
            "id": message.pk, "when": dates.wall_text(recurrence.wall_from_key(wall), calendar), "problem": missed.problem}

    notification_alert_admins(kind="scheduled_failed", text=text, dedup_key=f"{message.pk}:{wall}")
