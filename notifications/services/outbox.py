"""The outbox: writing a notification in its cause's transaction (once per dedup key), admin
alerts, cancel and resend, and the Outbox that takes over the transport's message port."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from vpnbot.shop.models import Customer
from vpnbot.transport.messages import Queued
from vpnbot.transport.permissions import admin_chat_ids

from .. import selectors, types
from ..models import Notification
from .delivery import keyboard, notification_process

log = logging.getLogger(__name__)
Status = Notification.Status


def full_key(type_: str, owner, dedup_key: str) -> str:
    """The stored dedup key: type, owner (a customer id or chat<id>) and the caller's key,
    hashed when it would not fit the column."""
    key = f"{type_}:{owner}:{dedup_key}"
    if len(key) > 191:
        key = f"{type_}:{owner}:h:" + hashlib.sha256(dedup_key.encode()).hexdigest()
    return key


_local = threading.local()


@contextmanager
def delivery_by_worker():
    """Within it, a notification due now goes to the worker (the send_notification task) after
    commit instead of being sent in process: a web request (the Mini App's purchase) answers
    without waiting for Telegram (its round trip, or a chat's one-second spacing)."""
    previous = getattr(_local, "by_worker", False)
    _local.by_worker = True
    try:
        yield
    finally:
        _local.by_worker = previous


def _deliver_soon(pk: int) -> None:
    """After commit, send a transactional or urgent notification right away, in process (or
    through the worker, in delivery_by_worker()); the every-minute job picks it up if this fails."""
    if getattr(_local, "by_worker", False):
        def hand_over():
            from ..tasks import send_notification

            try:
                send_notification.delay(pk)
            except Exception:  # noqa: BLE001 - the broker is down: the beat job sends it
                log.exception("notification %s could not be handed to the worker; the scheduled job will send it", pk)

        transaction.on_commit(hand_over)
        return

    def run():
        try:
            notification_process(ids=[pk])
        except Exception:  # noqa: BLE001 - the beat job retries
            log.exception("immediate delivery of notification %s failed; the scheduled job will retry", pk)

    transaction.on_commit(run)


def notification_enqueue(*, customer, type: str, context: dict | None = None, dedup_key: str,  # noqa: A002
                         text: str = "", buttons: list | None = None, photo: str = "", urgent: bool = False,
                         scheduled_for=None, source: str = "", parse_mode: str = "HTML",
                         chat_id: int | None = None) -> Notification | None:
    """Write a notification in the caller's transaction; None when its dedup key exists.
    customer may be None for a chat that is not a customer (then chat_id is required)."""
    if type not in types.ALL:
        raise ValueError(f"unknown notification type {type!r}")
    if not dedup_key:
        raise ValueError("dedup_key is required")
    if customer is None and chat_id is None:
        raise ValueError("a customer or a chat_id is required")
    keyboard(buttons)  # validates the callback data now rather than at send time
    key = full_key(type, customer.pk if customer else f"chat{chat_id}", dedup_key)
    if Notification.objects.filter(dedup_key=key).exists():
        return None
    transactional = type in types.TRANSACTIONAL
    now = timezone.now()
    try:
        with transaction.atomic():
            n = Notification.objects.create(
                customer=customer, chat_id=customer.telegram_id if customer else chat_id, type=type, dedup_key=key,
                language=customer.effective_language if customer else settings.LANGUAGE_CODE, text=text or "",
                photo=photo or "", buttons=[list(map(list, row)) for row in (buttons or [])], context=context or {},
                urgent=urgent, transactional=transactional, priority=10 if transactional else (5 if urgent else 0),
                source=source[:64], scheduled_for=scheduled_for or now, created_at=now, parse_mode=parse_mode or "")
    except IntegrityError:
        return None
    if (transactional or urgent) and n.scheduled_for <= now:
        _deliver_soon(n.pk)
    return n


def notification_alert_admins(*, kind: str, text, dedup_key: str, buttons=None) -> int:
    """An alert to every admin (each once per dedup key), in each admin's language when text
    (and buttons) are callables; returns how many were queued."""
    queued = 0
    now = timezone.now()
    for chat_id in admin_chat_ids():
        customer = Customer.objects.filter(telegram_id=chat_id).first()
        language = customer.effective_language if customer else settings.LANGUAGE_CODE
        key = full_key(types.ADMIN_ALERT, f"chat{chat_id}", f"{kind}:{dedup_key}")
        if Notification.objects.filter(dedup_key=key).exists():
            continue
        with translation.override(language):
            rendered = text() if callable(text) else text
            rows = (buttons() if callable(buttons) else buttons) or []
        try:
            with transaction.atomic():
                n = Notification.objects.create(
                    customer=customer, chat_id=chat_id, type=types.ADMIN_ALERT, dedup_key=key, language=language,
                    text=rendered, context={"kind": kind}, urgent=True, transactional=True, priority=10,
                    buttons=[list(map(list, row)) for row in rows],
                    source=f"alert:{kind}"[:64], scheduled_for=now, created_at=now)
        except IntegrityError:
            continue
        queued += 1
        _deliver_soon(n.pk)
    return queued


def notification_cancel(*, notification_ids: list[int], reason: str = "cancelled") -> int:
    return Notification.objects.filter(pk__in=notification_ids, status=Status.PENDING).update(
        status=Status.CANCELLED, last_error=reason[:500], finished_at=timezone.now())


def notification_resend(*, notification_ids: list[int]) -> int:
    """Queue finished notifications again (not ones that reached a blocked customer)."""
    return (Notification.objects.filter(pk__in=notification_ids, status__in=[Status.FAILED, Status.CANCELLED])
            .exclude(customer__blocked_at__isnull=False)
            .update(status=Status.PENDING, attempts=0, scheduled_for=timezone.now(), claimed_until=None,
                    claim_token="", finished_at=None, last_error=""))


def notifications_cancel_for_customer(*, customer_id: int, reason: str) -> int:
    return Notification.objects.filter(customer_id=customer_id, status=Status.PENDING).update(
        status=Status.CANCELLED, last_error=reason[:500], finished_at=timezone.now())


class Outbox:
    """The transport's message port, delivered through this outbox (registered in ready())."""

    def notify_chat(self, chat_id: int, text: str, *, kind: str, buttons, photo: str, dedup_key: str,
                    context: dict, urgent: bool, source: str, parse_mode: str) -> Queued | None:
        type_ = kind if kind in types.ALL else types.MESSAGE
        if type_ == types.MESSAGE:
            context = {**context, "kind": kind}
        key = dedup_key or secrets.token_hex(8)
        if type_ == types.MESSAGE:
            key = f"{kind}:{key}"
        customer = Customer.objects.filter(telegram_id=chat_id).first()
        n = notification_enqueue(customer=customer, chat_id=chat_id, type=type_, context=context, dedup_key=key,
                                 text=text, buttons=buttons, photo=photo, urgent=urgent or type_ == types.CASHBACK,
                                 source=source, parse_mode=parse_mode)
        return Queued(message_id=n.pk) if n is not None else None

    def notify_admins(self, text, *, kind: str, dedup_key: str, buttons=None) -> int:
        return notification_alert_admins(kind=kind, text=text, dedup_key=dedup_key or secrets.token_hex(8),
                                         buttons=buttons)

    def cancel(self, message_ids, *, reason: str) -> int:
        return notification_cancel(notification_ids=message_ids, reason=reason)

    def outcomes(self, message_ids) -> dict[str, int]:
        return selectors.notification_outcomes(message_ids=message_ids)
