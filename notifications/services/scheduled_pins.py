"""Pinned scheduled messages: each message of a pinned schedule is pinned in its chat once it
is sent (without a sound), and the one a schedule pinned there before is unpinned once the
later one is pinned, so a chat keeps one pinned message per schedule.

A pin is a row (ScheduledPin) written after the delivery of its message: pinning and unpinning
are retried by the due job when Telegram says "later" or does not answer, and a chat that
blocked the bot, or a message that is gone, is given up. A message pinned late (a retry) never
replaces a later one: it is left unpinned."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from vpnbot.transport import messages

from ..models import Notification, ScheduledOccurrence, ScheduledPin
from .delivery import register_batch_hook

log = logging.getLogger(__name__)
PinStatus = ScheduledPin.Status
LEASE = timedelta(minutes=5)  # a pin being worked on is not taken by another processor meanwhile
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=1)


def pins_after_batch(rows: list[Notification]) -> None:
    """A delivered batch: the sent messages of pinned schedules get their pins (then pinned)."""
    broadcast_ids = {n.broadcast_id for n in rows if n.broadcast_id}
    if not broadcast_ids:
        return
    schedule_of = dict(ScheduledOccurrence.objects.filter(broadcast_id__in=broadcast_ids, message__pin=True)
                       .values_list("broadcast_id", "message_id"))
    if not schedule_of:
        return
    sent = (Notification.objects.filter(pk__in=[n.pk for n in rows], broadcast_id__in=list(schedule_of),
                                        status=Notification.Status.SENT, telegram_message_id__isnull=False)
            .values_list("pk", "broadcast_id", "chat_id", "telegram_message_id"))
    now = timezone.now()
    pins = [ScheduledPin(message_id=schedule_of[broadcast_id], notification_id=pk, chat_id=chat_id,
                         telegram_message_id=message_id, retry_at=now, created_at=now)
            for pk, broadcast_id, chat_id, message_id in sent]
    if not pins:
        return
    ScheduledPin.objects.bulk_create(pins, ignore_conflicts=True)
    scheduled_pins_process(notification_ids=[p.notification_id for p in pins])


register_batch_hook(pins_after_batch)


def scheduled_pins_process(*, now: datetime | None = None, notification_ids: list[int] | None = None,
                           limit: int = 500) -> int:
    """Pin what is to be pinned and unpin what was replaced (those due); how many were done."""
    now = now or timezone.now()
    qs = ScheduledPin.objects.filter(status__in=[PinStatus.PENDING, PinStatus.REPLACED], retry_at__lte=now)
    if notification_ids is not None:
        qs = qs.filter(Q(notification_id__in=notification_ids) | Q(status=PinStatus.REPLACED))
    done = 0
    for pin in list(qs.order_by("pk")[:limit]):
        # the lease: whoever moves retry_at forward first works on it
        if not ScheduledPin.objects.filter(pk=pin.pk, status=pin.status, retry_at=pin.retry_at).update(retry_at=now + LEASE):
            continue
        done += _pin(pin, now) if pin.status == PinStatus.PENDING else _unpin(pin, now)
    return done


def _pin(pin: ScheduledPin, now: datetime) -> int:
    later = ScheduledPin.objects.filter(message_id=pin.message_id, chat_id=pin.chat_id, pk__gt=pin.pk,
                                        status__in=[PinStatus.PENDING, PinStatus.PINNED])
    if later.exists():  # a later occurrence's message is (or will be) pinned: this one stays unpinned
        ScheduledPin.objects.filter(pk=pin.pk).update(status=PinStatus.UNPINNED, unpinned_at=now,
                                                      last_error="replaced before it was pinned")
        return 0
    try:
        messages.pin_message(pin.chat_id, pin.telegram_message_id)
    except messages.TelegramError as exc:
        _failed(pin, exc, now)
        return 0
    ScheduledPin.objects.filter(pk=pin.pk).update(status=PinStatus.PINNED, pinned_at=now, last_error="",
                                                  attempts=pin.attempts + 1)
    earlier = list(ScheduledPin.objects.filter(message_id=pin.message_id, chat_id=pin.chat_id, pk__lt=pin.pk,
                                               status=PinStatus.PINNED).values_list("pk", flat=True))
    if earlier:
        ScheduledPin.objects.filter(pk__in=earlier, status=PinStatus.PINNED).update(status=PinStatus.REPLACED,
                                                                                   retry_at=now + LEASE)
        for old in ScheduledPin.objects.filter(pk__in=earlier, status=PinStatus.REPLACED):
            _unpin(old, now)
    return 1


def _unpin(pin: ScheduledPin, now: datetime) -> int:
    try:
        messages.unpin_message(pin.chat_id, pin.telegram_message_id)  # False: already unpinned (by the person)
    except messages.TelegramError as exc:
        _failed(pin, exc, now)
        return 0
    ScheduledPin.objects.filter(pk=pin.pk).update(status=PinStatus.UNPINNED, unpinned_at=now, last_error="")
    return 1


def _failed(pin: ScheduledPin, exc: messages.TelegramError, now: datetime) -> None:
    """Retried later: a 429 after Telegram's retry_after, an error or no answer with a growing
    pause; given up on a blocked chat, a message that is gone, or after MAX_ATTEMPTS."""
    attempts = pin.attempts + 1
    error = exc.description[:300]
    if isinstance(exc, messages.RetryLater):
        ScheduledPin.objects.filter(pk=pin.pk).update(retry_at=now + timedelta(seconds=exc.retry_after), last_error=error)
        return
    final = isinstance(exc, messages.ChatUnreachable) or exc.status == 400 or attempts >= MAX_ATTEMPTS
    if final:
        status = PinStatus.FAILED if pin.status == PinStatus.PENDING else PinStatus.UNPINNED
        ScheduledPin.objects.filter(pk=pin.pk).update(status=status, attempts=attempts, last_error=error)
        log.info("pin %s given up: %s", pin.pk, error)
        return
    ScheduledPin.objects.filter(pk=pin.pk).update(attempts=attempts, last_error=error,
                                                  retry_at=now + RETRY_BASE * 2 ** (attempts - 1))
