"""Delivery: claim due notifications, decide, send them through the transport's sender (the one
place besides the transport that uses it), record each attempt; notification_process runs it."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import OperationalError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from vpnbot.transport.bot import inline_keyboard
from vpnbot.transport.sender import ChatUnreachable, RetryLater, TelegramError, TelegramNetworkError, get_sender

from ..models import Broadcast, Notification, NotificationLog, NotificationSettings
from .planning import limited_customers, plan
from .templates import notification_render

log = logging.getLogger(__name__)
Status = Notification.Status

# fn(rows) after each batch is sent and recorded (the broadcasts refresh their progress message).
_batch_hooks: list[Callable[[list[Notification]], None]] = []


def register_batch_hook(fn: Callable[[list[Notification]], None]) -> None:
    if fn not in _batch_hooks:
        _batch_hooks.append(fn)


def keyboard(buttons) -> dict | None:
    """The reply_markup of stored button rows ([label, action] pairs); raises ValueError for
    callback data over Telegram's 64 bytes (so callers check buttons before storing them)."""
    return inline_keyboard([[tuple(b) for b in row] for row in buttons]) if buttons else None


@dataclass
class ProcessResult:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    blocked: int = 0
    cancelled: int = 0
    batches: int = 0

    def add(self, other: ProcessResult) -> None:
        for name in ("sent", "failed", "retried", "deferred", "blocked", "cancelled", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.retried + self.deferred + self.blocked + self.cancelled


def _retrying(fn, attempts: int = 6):
    """Run fn() again when the database reports a deadlock or lock timeout (InnoDB may
    pick our transaction as the victim); nothing inside fn has effects outside the database."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as exc:
            text = str(exc).lower()
            if attempt == attempts or not any(w in text for w in ("deadlock", "lock wait", "could not serialize", "database is locked")):
                raise
            time.sleep(0.05 * attempt)


def _read_committed() -> None:
    """On MySQL/MariaDB the next transaction runs READ COMMITTED: no gap locks, so claiming
    workers do not block each other's status updates."""
    if connection.vendor == "mysql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")


def _claim(*, batch_size: int, ids: list[int] | None, broadcast_id: int | None) -> list[Notification]:
    """Take up to batch_size due notifications for this worker: under row locks that skip
    locked rows where the database has them, else by a conditional UPDATE."""
    now = timezone.now()
    token = secrets.token_hex(16)
    running = list(Broadcast.objects.filter(status=Broadcast.Status.RUNNING).values_list("pk", flat=True))
    qs = (Notification.objects.filter(status=Status.PENDING, scheduled_for__lte=now)
          .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
          .filter(Q(broadcast__isnull=True) | Q(broadcast_id__in=running)))
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    if broadcast_id is not None:
        qs = qs.filter(broadcast_id=broadcast_id)
    qs = qs.order_by("-priority", "scheduled_for", "id")
    until = now + timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
    if connection.features.has_select_for_update_skip_locked:
        def claim():
            _read_committed()
            with transaction.atomic():
                picked = list(qs.select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch_size])
                if picked:
                    Notification.objects.filter(pk__in=picked).update(claimed_until=until, claim_token=token)

        _retrying(claim)
    else:
        candidates = list(qs.values_list("pk", flat=True)[:batch_size])
        if candidates:
            (Notification.objects.filter(pk__in=candidates, status=Status.PENDING)
             .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
             .update(claimed_until=until, claim_token=token))
    return list(Notification.objects.filter(claim_token=token, status=Status.PENDING)
                .select_related("customer", "broadcast").order_by("-priority", "scheduled_for", "id"))


@dataclass
class _Job:
    pk: int
    chat_id: int
    text: str
    photo: str
    media_type: str
    markup: dict | None
    parse_mode: str
    paid: bool


@dataclass
class _Outcome:
    kind: str  # sent | retry_later | blocked | error | fatal
    message_id: int | None = None
    error: str = ""
    retry_after: float = 0.0
    duration_ms: int = 0


def _send_one(job: _Job) -> _Outcome:
    started = time.monotonic()
    sender = get_sender()
    parse_mode = job.parse_mode

    def attempt(parse_mode):
        params = {}
        if parse_mode:
            params["parse_mode"] = parse_mode
        if job.markup:
            params["reply_markup"] = job.markup
        if job.paid:
            params["allow_paid_broadcast"] = True
        if job.photo:
            return sender.send_media(job.chat_id, job.media_type or "photo", job.photo, caption=job.text, **params)
        return sender.send_message(job.chat_id, job.text, **params)

    def took():
        return int((time.monotonic() - started) * 1000)

    try:
        try:
            result = attempt(parse_mode)
        except TelegramError as exc:
            if parse_mode and exc.status == 400 and "parse entities" in exc.description:
                result = attempt("")  # the text is not valid HTML: send it as plain text
            else:
                raise
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return _Outcome("sent", message_id=message_id, duration_ms=took())
    except RetryLater as exc:
        return _Outcome("retry_later", error=exc.description, retry_after=exc.retry_after, duration_ms=took())
    except ChatUnreachable as exc:
        return _Outcome("blocked", error=exc.description, duration_ms=took())
    except TelegramNetworkError as exc:
        return _Outcome("error", error=exc.description, duration_ms=took())
    except TelegramError as exc:
        kind = "fatal" if exc.status == 400 else "error"
        return _Outcome(kind, error=exc.description, duration_ms=took())
    except Exception as exc:  # noqa: BLE001 - recorded on the notification and retried
        log.exception("sending notification %s failed", job.pk)
        return _Outcome("error", error=f"{type(exc).__name__}: {exc}", duration_ms=took())


def _job_for(n: Notification) -> _Job:
    text = notification_render(n)
    paid = bool(n.broadcast_id and n.broadcast and n.broadcast.paid and settings.NOTIFICATION_ALLOW_PAID_BROADCAST)
    return _Job(pk=n.pk, chat_id=n.chat_id, text=text, photo=n.photo, media_type=n.media_type, markup=keyboard(n.buttons),
                parse_mode=n.parse_mode, paid=paid)


def _process_batch(rows: list[Notification]) -> ProcessResult:
    """Decide, send, record. The decision for a customer is taken under the lock of their
    settings row and marks each row it sends (sent_at, while still pending and claimed), so
    two workers sending to the same customer at once count each other's messages: the daily
    limit and the spacing hold exactly."""
    now = timezone.now()
    limited = limited_customers(rows)

    def decide():
        logs: list[NotificationLog] = []
        to_send: list[tuple[Notification, _Job]] = []
        counts = ProcessResult(batches=1)
        _read_committed()
        with transaction.atomic():
            if limited:
                list(NotificationSettings.objects.select_for_update().filter(customer_id__in=limited)
                     .order_by("customer_id").values_list("pk", flat=True))
            decisions = plan(rows, now)
            for n, action, value, reason in decisions:
                mine = Notification.objects.filter(pk=n.pk, claim_token=n.claim_token)
                if action == "finish":
                    mine.update(status=value, last_error=reason, finished_at=now, claimed_until=None, sent_at=None)
                    logs.append(NotificationLog(notification=n, attempt=n.attempts, error=reason,
                                                status="cancelled" if value == Status.CANCELLED else "blocked"))
                    if value == Status.BLOCKED:
                        counts.blocked += 1
                    else:
                        counts.cancelled += 1
                elif action == "defer":
                    mine.update(scheduled_for=value, deferred_count=F("deferred_count") + 1, deferred_reason=reason,
                                claimed_until=None, claim_token="", sent_at=None)
                    logs.append(NotificationLog(notification=n, attempt=n.attempts, status="deferred",
                                                error=f"{reason} until {value.isoformat()}"))
                    counts.deferred += 1
                else:
                    try:
                        to_send.append((n, _job_for(n)))
                    except (ValueError, TypeError) as exc:
                        mine.update(status=Status.FAILED, last_error=f"cannot render: {exc}"[:500], finished_at=now,
                                    sent_at=None)
                        logs.append(NotificationLog(notification=n, attempt=n.attempts, status="error", error=str(exc)[:500]))
                        counts.failed += 1
            if to_send:  # being sent: counted by the other workers' decisions (see planning._recent_sent)
                Notification.objects.filter(pk__in=[n.pk for n, _job in to_send]).update(sent_at=now)
        return logs, to_send, counts

    logs, to_send, result = _retrying(decide)
    if logs:
        NotificationLog.objects.bulk_create(logs, batch_size=500)
    if not to_send:
        return result
    deliver = partial(_deliver, result=result, lock=threading.Lock())
    threads = min(settings.NOTIFICATION_SEND_THREADS, len(to_send))
    try:
        if threads > 1 and not connection.in_atomic_block:
            with _SenderPool(threads) as pool:
                list(pool.map(deliver, to_send))
        else:
            for item in to_send:
                deliver(item)
    finally:
        _release_unsent([n for n, _job in to_send])
    return result


def _deliver(item: tuple[Notification, _Job], *, result: ProcessResult, lock: threading.Lock) -> None:
    """Send one notification and record its outcome at once, in its own transaction: a
    worker that dies repeats at most the message it had in flight (Telegram has no
    idempotency key), and loses none."""
    n, job = item
    outcome = _send_one(job)
    counts = _retrying(lambda: _record(n, job, outcome))
    with lock:
        result.add(counts)


class _SenderPool(ThreadPoolExecutor):
    """Threads that send and record; each keeps its database connection for the batch and
    closes it at the end (one connection per message would cost more than the message)."""

    def __init__(self, threads: int):
        super().__init__(max_workers=threads)
        self.threads = threads

    def __exit__(self, *exc_info):
        barrier = threading.Barrier(self.threads)  # one closing job per thread, each waits for the others

        def close(_):
            try:
                barrier.wait(timeout=30)
            except threading.BrokenBarrierError:
                pass
            connections.close_all()

        list(self.map(close, range(self.threads)))
        return super().__exit__(*exc_info)


def _release_unsent(rows: list[Notification]) -> None:
    """Rows this worker claimed to send and did not record (a send or a write raised): free
    them at once for the next run, instead of when their claim expires."""
    unsent = [n for n in rows if not getattr(n, "_recorded", False)]
    for n in unsent:
        _retrying(lambda n=n: Notification.objects.filter(pk=n.pk, claim_token=n.claim_token, status=Status.PENDING)
                  .update(claimed_until=None, claim_token="", sent_at=None))


def _record(n: Notification, job: _Job, outcome: _Outcome) -> ProcessResult:
    """Write one outcome and its log row (retried on deadlock by the caller)."""
    counts = ProcessResult()
    now = timezone.now()
    attempt = n.attempts + 1
    mine = Notification.objects.filter(pk=n.pk, claim_token=n.claim_token)
    _read_committed()
    with transaction.atomic():
        NotificationLog.objects.create(notification=n, attempt=attempt, status=outcome.kind if outcome.kind != "fatal" else "error",
                                       error=outcome.error[:500], telegram_message_id=outcome.message_id,
                                       duration_ms=outcome.duration_ms)
        if outcome.kind == "sent":
            mine.update(status=Status.SENT, sent_at=now, finished_at=now, attempts=attempt, text=job.text,
                        telegram_message_id=outcome.message_id, claimed_until=None, last_error="")
            counts.sent += 1
        elif outcome.kind == "retry_later":
            mine.update(scheduled_for=now + timedelta(seconds=outcome.retry_after), claimed_until=None,
                        claim_token="", last_error=outcome.error[:500], sent_at=None)
            counts.retried += 1
        elif outcome.kind == "blocked":
            mine.update(status=Status.BLOCKED, finished_at=now, attempts=attempt, last_error=outcome.error[:500],
                        claimed_until=None, sent_at=None)
            counts.blocked += 1
        elif outcome.kind == "fatal" or attempt >= settings.NOTIFICATION_MAX_ATTEMPTS:
            mine.update(status=Status.FAILED, finished_at=now, attempts=attempt, last_error=outcome.error[:500],
                        claimed_until=None, sent_at=None)
            counts.failed += 1
        else:
            backoff = settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
            mine.update(attempts=attempt, scheduled_for=now + timedelta(seconds=backoff), claimed_until=None,
                        claim_token="", last_error=outcome.error[:500], sent_at=None)
            counts.retried += 1
    n._recorded = True
    return counts


def notification_process(*, ids: list[int] | None = None, broadcast_id: int | None = None,
                         batch_size: int | None = None, time_budget: float | None = None,
                         max_batches: int | None = None) -> ProcessResult:
    """Send due notifications batch by batch until none are left, the time budget is
    spent or max_batches ran. Safe to run in several workers at once."""
    batch_size = batch_size or settings.NOTIFICATION_BATCH_SIZE
    budget = settings.NOTIFICATION_PROCESS_TIME_BUDGET if time_budget is None else time_budget
    started = time.monotonic()
    total = ProcessResult()
    while True:
        rows = _claim(batch_size=batch_size, ids=ids, broadcast_id=broadcast_id)
        if not rows:
            break
        total.add(_process_batch(rows))
        for hook in _batch_hooks:
            hook(rows)
        if ids is not None or (max_batches and total.batches >= max_batches) or time.monotonic() - started >= budget:
            break
    return total
