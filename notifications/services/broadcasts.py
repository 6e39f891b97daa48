"""Broadcasts: check and create one, choose its audience, start it (one pending notification per
recipient, written once), pause, resume, cancel, and run it until nothing is left."""

from __future__ import annotations

import time
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop import audiences

from .. import types
from ..models import Broadcast, Notification
from .delivery import ProcessResult, keyboard, notification_process
from .errors import NotificationError
from .outbox import full_key
from .progress import broadcast_refresh

Status = Notification.Status


def _parse_buttons(buttons) -> list:
    rows = []
    for row in buttons or []:
        rows.append([[str(label)[:64], str(action)] for label, action in row])
    keyboard(rows)  # callback data over 64 bytes raises ValueError
    return rows


def _check_paid(paid: bool) -> None:
    if paid and not settings.NOTIFICATION_ALLOW_PAID_BROADCAST:
        raise NotificationError(_("Paid broadcasts are turned off (NOTIFICATION_ALLOW_PAID_BROADCAST)."))


def _check_audience(audience: str) -> None:
    """A broadcast goes to an audience without parameters (a scheduled message takes those)."""
    found = audiences.get_audience(audience)
    if found is None or found.params:
        raise NotificationError(_("Unknown audience %(key)s.") % {"key": audience})


def broadcast_validate(*, text: str = "", photo: str = "", buttons=None, audience: str = "all", paid: bool = False) -> list:
    """Check a broadcast's content; returns the normalised buttons."""
    text = (text or "").strip()
    if not text and not photo:
        raise NotificationError(_("A broadcast needs a text or a photo."))
    if len(text) > (1024 if photo else 4096):
        raise NotificationError(_("The text is too long: %(max)s characters at most.") % {"max": 1024 if photo else 4096})
    _check_audience(audience)
    _check_paid(paid)
    try:
        return _parse_buttons(buttons)
    except (ValueError, TypeError):
        raise NotificationError(_("The buttons are not valid.")) from None


def broadcast_run_later(broadcast_id: int) -> None:
    """After commit, queue the task that sends a started or resumed broadcast."""
    from ..tasks import run_broadcast  # tasks imports services: a real cycle

    transaction.on_commit(partial(run_broadcast.delay, broadcast_id))


def broadcast_create(*, created_by: int | None, text: str = "", photo: str = "", buttons=None, audience: str = "all",
                     paid: bool = False, start: bool = False) -> Broadcast:
    """A draft; with start=True it is also started, in the same transaction (a failure to
    start leaves no draft behind), and sent by a task queued after commit."""
    rows = broadcast_validate(text=text, photo=photo, buttons=buttons, audience=audience, paid=paid)
    with transaction.atomic():
        b = Broadcast.objects.create(created_by=created_by, text=(text or "").strip(), photo=photo or "", buttons=rows,
                                     audience=audience, paid=paid)
        if start:
            b = broadcast_start(broadcast_id=b.pk)
            broadcast_run_later(b.pk)
    return b


def broadcast_configure(*, broadcast_id: int, audience: str | None = None, paid: bool | None = None) -> Broadcast:
    """Choose the audience (and paid delivery) of a draft."""
    with transaction.atomic():
        b = Broadcast.objects.select_for_update().get(pk=broadcast_id)
        if b.status != Broadcast.Status.DRAFT:
            raise NotificationError(_("This broadcast was already started."))
        if audience is not None:
            _check_audience(audience)
            b.audience = audience
        if paid is not None:
            _check_paid(paid)
            b.paid = paid
        b.save(update_fields=["audience", "paid"])
    return b


def broadcast_start(*, broadcast_id: int, progress_chat_id: int | None = None,
                    progress_message_id: int | None = None) -> Broadcast:
    """Write one pending notification per recipient (once) and set the broadcast running."""
    with transaction.atomic():
        b = Broadcast.objects.select_for_update().get(pk=broadcast_id)
        if b.status != Broadcast.Status.DRAFT:
            raise NotificationError(_("This broadcast was already started."))
        now = timezone.now()
        customers = audiences.audience_queryset(b.audience).values_list("pk", "telegram_id", "language").order_by("pk")
        batch: list[Notification] = []
        total = 0
        for pk, telegram_id, language in customers.iterator(chunk_size=2000):
            batch.append(Notification(
                customer_id=pk, chat_id=telegram_id, type=types.BROADCAST, language=language or "",
                dedup_key=full_key(types.BROADCAST, pk, f"b{b.pk}"), text=b.text, photo=b.photo, buttons=b.buttons,
                parse_mode="", broadcast=b, priority=-1, source=f"broadcast:{b.pk}", scheduled_for=now, created_at=now))
            if len(batch) >= 1000:
                Notification.objects.bulk_create(batch, ignore_conflicts=True)
                total += len(batch)
                batch = []
        if batch:
            Notification.objects.bulk_create(batch, ignore_conflicts=True)
            total += len(batch)
        Broadcast.objects.filter(pk=b.pk).update(
            status=Broadcast.Status.RUNNING, total=total, started_at=now, progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id)
        b.refresh_from_db()
    return b


def broadcast_set_progress_message(*, broadcast_id: int, chat_id: int, message_id: int) -> None:
    Broadcast.objects.filter(pk=broadcast_id).update(progress_chat_id=chat_id, progress_message_id=message_id)


def _set_status(broadcast_id: int, *, allowed: list[str], to: str) -> Broadcast:
    with transaction.atomic():
        b = Broadcast.objects.select_for_update().get(pk=broadcast_id)
        if b.status not in allowed:
            raise NotificationError(_("The broadcast is %(status)s; that is not possible now.") % {"status": b.status})
        b.status = to
        fields = ["status"]
        if to in (Broadcast.Status.CANCELLED, Broadcast.Status.DONE):
            b.finished_at = timezone.now()
            fields.append("finished_at")
        b.save(update_fields=fields)
        if to == Broadcast.Status.CANCELLED:
            Notification.objects.filter(broadcast=b, status=Status.PENDING).update(
                status=Status.CANCELLED, last_error="broadcast cancelled", finished_at=timezone.now())
    return b


def broadcast_pause(*, broadcast_id: int) -> Broadcast:
    return _set_status(broadcast_id, allowed=[Broadcast.Status.RUNNING], to=Broadcast.Status.PAUSED)


def broadcast_resume(*, broadcast_id: int) -> Broadcast:
    return _set_status(broadcast_id, allowed=[Broadcast.Status.PAUSED], to=Broadcast.Status.RUNNING)


def broadcast_cancel(*, broadcast_id: int) -> Broadcast:
    return _set_status(broadcast_id, allowed=[Broadcast.Status.DRAFT, Broadcast.Status.RUNNING, Broadcast.Status.PAUSED],
                       to=Broadcast.Status.CANCELLED)


def broadcast_run(*, broadcast_id: int, time_budget: float | None = None, continue_later: bool = False) -> ProcessResult:
    """Send a running broadcast until it is done, paused or cancelled, or the time budget
    (NOTIFICATION_PROCESS_TIME_BUDGET by default) is spent. With continue_later, a run that
    spent its budget queues the next one: a worker's task never runs longer than the budget,
    so a stopping worker finishes it within its grace period (the every-minute job also
    continues a broadcast, e.g. after a restart)."""
    budget = settings.NOTIFICATION_PROCESS_TIME_BUDGET if time_budget is None else time_budget
    total = ProcessResult()
    started = time.monotonic()
    while True:
        if time.monotonic() - started >= budget:
            if continue_later and Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.RUNNING).exists():
                broadcast_run_later(broadcast_id)
            break
        if not Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.RUNNING).exists():
            break
        left = budget - (time.monotonic() - started)
        result = notification_process(broadcast_id=broadcast_id, max_batches=1, time_budget=left)
        total.add(result)
        if not result.batches:
            now = timezone.now()
            soonest = (Notification.objects.filter(broadcast_id=broadcast_id, status=Status.PENDING)
                       .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                       .order_by("scheduled_for").values_list("scheduled_for", flat=True).first())
            if soonest is None or (soonest - timezone.now()).total_seconds() > 5:
                break
            time.sleep(max(0.2, (soonest - timezone.now()).total_seconds()))
    broadcast_refresh(broadcast_id=broadcast_id, force=True)
    return total
