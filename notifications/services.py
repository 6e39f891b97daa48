"""Notifications: the outbox, its processing, scans, per-customer settings and broadcasts.

Everything that writes lives here; handlers, admin, API and tasks call these functions.
"""

from __future__ import annotations

import hashlib
import html
import logging
import secrets
import time
import zoneinfo
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from functools import partial

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from vpnbot.shop.models import Customer, Subscription
from vpnbot.transport.bot import inline_keyboard
from vpnbot.transport.messages import Queued
from vpnbot.transport.permissions import admin_chat_ids
from vpnbot.transport.sender import ChatUnreachable, RetryLater, TelegramError, TelegramNetworkError, get_sender

from . import audiences, types
from .models import Broadcast, Notification, NotificationLog, NotificationSettings, NotificationTemplate

log = logging.getLogger(__name__)
Status = Notification.Status


class NotificationError(Exception):
    """A refusal with a message meant for the person who asked."""


# --- keys, templates, rendering --------------------------------------------------------------

def _full_key(type_: str, owner, dedup_key: str) -> str:
    key = f"{type_}:{owner}:{dedup_key}"
    if len(key) > 191:
        key = f"{type_}:{owner}:h:" + hashlib.sha256(dedup_key.encode()).hexdigest()
    return key


def _template_body(type_: str, language: str) -> str | None:
    row = NotificationTemplate.objects.filter(type=type_, language=language, is_active=True).only("body").first()
    return row.body if row else None


class _Values(dict):
    def __missing__(self, key):
        return ""


def _display(key: str, value, customer, language: str, escape: bool) -> str:
    from vpnbot.shop.services import format_date, money

    with translation.override(language):
        if key in types.MONEY_KEYS and isinstance(value, int):
            return money(value)
        if key in types.DATE_KEYS and isinstance(value, str) and parse_datetime(value):
            return format_date(parse_datetime(value), customer)
    text = str(value)
    return html.escape(text, quote=False) if escape else text


def template_render(body: str, context: dict, *, customer=None, language: str = "", escape: bool = True) -> str:
    """Fill a template's {placeholders}; unknown or missing ones become empty."""
    language = language or (customer.effective_language if customer else settings.LANGUAGE_CODE)
    values = _Values({k: _display(k, v, customer, language, escape) for k, v in context.items()})
    try:
        return body.format_map(values)
    except (ValueError, KeyError, IndexError, AttributeError):
        return body


def template_preview(*, type: str, body: str, language: str = "en") -> str:  # noqa: A002
    types.validate_template(type, body)
    return template_render(body, types.sample_context(type), language=language)


def template_install_defaults() -> int:
    """Create an editable template row per type and language from the shipped defaults."""
    created = 0
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for type_ in types.ALL:
                _row, made = NotificationTemplate.objects.get_or_create(
                    type=type_, language=language, defaults={"body": str(types.DEFAULTS[type_])})
                created += made
    return created


def _context_for(n: Notification, customer) -> dict:
    context = dict(n.context or {})
    if customer is not None:
        context.setdefault("first_name", customer.first_name)
        context.setdefault("username", customer.username)
    if n.text:
        context.setdefault("text", n.text)
    if n.type in (types.SERVICE_EXPIRING, types.SERVICE_EXPIRED) and n.object_id:
        sub = Subscription.objects.filter(pk=n.object_id).select_related("plan").first()
        if sub is not None:
            context.setdefault("plan", sub.plan.name)
            context.setdefault("expires_at", sub.expires_at.isoformat())
            seconds = (sub.expires_at - timezone.now()).total_seconds()
            context.setdefault("days_left", max(0, -int(-seconds // 86400)))
    return context


def notification_render(n: Notification, customer=None) -> str:
    """The text to send: the type's template (if every placeholder it needs is known), else
    the text given at enqueue time, else the shipped default."""
    customer = customer if customer is not None else n.customer
    language = n.language or (customer.effective_language if customer else settings.LANGUAGE_CODE)
    context = _context_for(n, customer)
    escape = bool(n.parse_mode)
    body = _template_body(n.type, language)
    if body is not None and set(types.placeholders_in(body)) <= set(context):
        return template_render(body, context, customer=customer, language=language, escape=escape)
    if n.text:
        return n.text
    with translation.override(language):
        default = str(types.DEFAULTS.get(n.type, "{text}"))
    return template_render(default, context, customer=customer, language=language, escape=escape)


# --- the outbox ---------------------------------------------------------------------------------

def _deliver_soon(pk: int) -> None:
    """After commit, send a transactional or urgent notification right away, in process;
    the every-minute job picks it up if this fails."""

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
    if buttons:
        inline_keyboard(buttons)  # validates the callback data now rather than at send time
    key = _full_key(type, customer.pk if customer else f"chat{chat_id}", dedup_key)
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


def notification_alert_admins(*, kind: str, text, dedup_key: str) -> int:
    """An alert to every admin (each once per dedup key), in each admin's language when text
    is a callable; returns how many were queued."""
    queued = 0
    now = timezone.now()
    for chat_id in admin_chat_ids():
        customer = Customer.objects.filter(telegram_id=chat_id).first()
        language = customer.effective_language if customer else settings.LANGUAGE_CODE
        key = _full_key(types.ADMIN_ALERT, f"chat{chat_id}", f"{kind}:{dedup_key}")
        if Notification.objects.filter(dedup_key=key).exists():
            continue
        with translation.override(language):
            rendered = text() if callable(text) else text
        try:
            with transaction.atomic():
                n = Notification.objects.create(
                    customer=customer, chat_id=chat_id, type=types.ADMIN_ALERT, dedup_key=key, language=language,
                    text=rendered, context={"kind": kind}, urgent=True, transactional=True, priority=10,
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


# --- the message port and the shop's events ------------------------------------------------------------------------

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

    def notify_admins(self, text, *, kind: str, dedup_key: str) -> int:
        return notification_alert_admins(kind=kind, text=text, dedup_key=dedup_key or secrets.token_hex(8))

    def cancel(self, message_ids, *, reason: str) -> int:
        return notification_cancel(notification_ids=message_ids, reason=reason)

    def outcomes(self, message_ids) -> dict[str, int]:
        counts: dict[str, int] = {}
        rows = Notification.objects.filter(pk__in=message_ids).values_list("status").annotate(n=Count("id"))
        for status, n in rows:
            key = OUTCOME.get(status, "pending")
            counts[key] = counts.get(key, 0) + n
        return counts


# Notification status -> the port's outcome names.
OUTCOME = {Status.PENDING: "pending", Status.SENT: "sent", Status.FAILED: "failed", Status.BLOCKED: "blocked",
           Status.CANCELLED: "skipped"}


def on_bot_blocked(event) -> None:
    if event.customer_id:
        notifications_cancel_for_customer(customer_id=event.customer_id, reason="customer blocked the bot")


def on_subscription_expired(event) -> None:
    """The shop marked a subscription expired: tell the customer (once per period)."""
    if not settings.ENABLE_AUTO_NOTIFICATIONS or event.customer is None:
        return
    sub_id = (event.payload or {}).get("subscription_id")
    sub = Subscription.objects.filter(pk=sub_id).first() if sub_id else None
    if sub is None or Subscription.objects.filter(renewed_from=sub).exists():
        return
    key = _full_key(types.SERVICE_EXPIRED, event.customer_id, f"{sub.pk}:x:{int(sub.expires_at.timestamp())}")
    now = timezone.now()
    Notification.objects.bulk_create([Notification(
        customer_id=event.customer_id, chat_id=event.customer.telegram_id, type=types.SERVICE_EXPIRED,
        dedup_key=key, object_id=sub.pk, source="event", scheduled_for=now, created_at=now)], ignore_conflicts=True)


# --- per-customer settings ----------------------------------------------------------------------------

def _parse_window(value: str) -> tuple[dtime, dtime] | None:
    try:
        start, end = (part.strip() for part in value.split("-", 1))
        start_t, end_t = dtime.fromisoformat(start), dtime.fromisoformat(end)
    except (ValueError, AttributeError):
        return None
    return (start_t, end_t) if start_t != end_t else None


@dataclass
class Preferences:
    disabled: set = field(default_factory=set)
    quiet: tuple[dtime, dtime] | None = None
    daily_limit: int = 0
    min_interval: timedelta = timedelta(0)


def preferences_for(row: NotificationSettings | None) -> Preferences:
    if row is not None and row.quiet_start is not None and row.quiet_end is not None:
        quiet = (row.quiet_start, row.quiet_end) if row.quiet_start != row.quiet_end else None
    else:
        quiet = _parse_window(settings.NOTIFICATION_DEFAULT_QUIET_HOURS or "")
    limit = row.daily_limit if row is not None and row.daily_limit is not None else settings.NOTIFICATION_DEFAULT_DAILY_LIMIT
    minutes = (row.min_interval_minutes if row is not None and row.min_interval_minutes is not None
               else settings.NOTIFICATION_DEFAULT_MIN_INTERVAL_MINUTES)
    return Preferences(disabled=set(row.disabled_types or []) if row else set(), quiet=quiet,
                       daily_limit=int(limit or 0), min_interval=timedelta(minutes=int(minutes or 0)))


def quiet_until(now: datetime, tz_name: str, window: tuple[dtime, dtime] | None) -> datetime | None:
    """When `now` falls in the quiet window (local time), the window's end; else None."""
    if not window:
        return None
    tz = zoneinfo.ZoneInfo(tz_name)
    local = now.astimezone(tz)
    start, end = window
    t = local.time()
    if start < end:
        if start <= t < end:
            return datetime.combine(local.date(), end, tzinfo=tz)
        return None
    if t >= start:
        return datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    if t < end:
        return datetime.combine(local.date(), end, tzinfo=tz)
    return None


def local_day_start(now: datetime, tz_name: str) -> datetime:
    tz = zoneinfo.ZoneInfo(tz_name)
    return datetime.combine(now.astimezone(tz).date(), dtime(0), tzinfo=tz)


def settings_get(*, customer) -> NotificationSettings:
    """The customer's settings row, made on first use. Two workers may make it at once (a
    double tap): the loser's INSERT fails on the unique customer and it reads the winner's
    row with a locking read, which (unlike a plain SELECT, and unlike get_or_create's retry)
    sees a row committed after a MariaDB REPEATABLE READ snapshot began."""
    row = NotificationSettings.objects.filter(customer=customer).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return NotificationSettings.objects.create(customer=customer)
    except IntegrityError:
        pass
    with transaction.atomic():
        return NotificationSettings.objects.select_for_update().get(customer=customer)


def settings_toggle_type(*, customer, type: str) -> bool:  # noqa: A002
    """Switch an optional type on or off; returns True when it is now on."""
    if type not in types.OPTIONAL:
        raise NotificationError(_("This kind of notification cannot be turned off."))
    with transaction.atomic():
        settings_get(customer=customer)
        row = NotificationSettings.objects.select_for_update().get(customer=customer)
        disabled = set(row.disabled_types or [])
        disabled.symmetric_difference_update({type})
        row.disabled_types = sorted(disabled)
        row.save(update_fields=["disabled_types", "updated_at"])
    return type not in disabled


QUIET_PRESETS = {"off": None, "22-8": (dtime(22), dtime(8)), "23-7": (dtime(23), dtime(7)), "0-8": (dtime(0), dtime(8))}
LIMIT_PRESETS = (0, 3, 5, 10)


def settings_set_quiet_hours(*, customer, start: dtime | None, end: dtime | None) -> NotificationSettings:
    row = settings_get(customer=customer)
    if (start is None) != (end is None):
        raise NotificationError(_("Quiet hours need both a start and an end."))
    row.quiet_start, row.quiet_end = (start, end) if start is not None else (dtime(0), dtime(0))
    row.save(update_fields=["quiet_start", "quiet_end", "updated_at"])
    return row


def settings_set_daily_limit(*, customer, limit: int) -> NotificationSettings:
    if not isinstance(limit, int) or not 0 <= limit <= 100:
        raise NotificationError(_("The daily limit must be a number from 0 (no limit) to 100."))
    row = settings_get(customer=customer)
    row.daily_limit = limit
    row.save(update_fields=["daily_limit", "updated_at"])
    return row


# --- processing -----------------------------------------------------------------------------------------

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
            return sender.send_photo(job.chat_id, job.photo, caption=job.text, **params)
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


def _send_threaded(job: _Job) -> _Outcome:
    try:
        return _send_one(job)
    finally:
        connections.close_all()  # a 403 makes the shop write in this thread


def _recent_sent(customer_ids: list[int], since: datetime, *, exclude: list[int] = ()) -> dict[int, list[datetime]]:
    """Per customer, when the messages that count against the daily limit and spacing went
    out: those sent, and those another worker decided to send and is sending now (pending,
    still claimed, sent_at set at the decision; see _process_batch)."""
    found: dict[int, list[datetime]] = defaultdict(list)
    now = timezone.now()
    rows = (Notification.objects.filter(customer_id__in=customer_ids, sent_at__gte=since, transactional=False, urgent=False)
            .filter(Q(status=Status.SENT) | Q(status=Status.PENDING, claimed_until__gt=now))
            .exclude(pk__in=list(exclude))
            .values_list("customer_id", "sent_at"))
    for customer_id, sent_at in rows:
        found[customer_id].append(sent_at)
    return found


def _plan(rows: list[Notification], now: datetime):
    """Decide each claimed row: send, defer (until, reason) or finish (status, reason)."""
    customer_ids = {n.customer_id for n in rows if n.customer_id}
    prefs = {row.customer_id: row for row in NotificationSettings.objects.filter(customer_id__in=customer_ids)}
    recent = _recent_sent(list(customer_ids), now - timedelta(days=1, hours=1), exclude=[n.pk for n in rows])
    extra: dict[int, list[datetime]] = defaultdict(list)
    bypass_urgent = settings.NOTIFICATION_URGENT_BYPASS
    decisions = []
    for n in rows:
        customer = n.customer
        if customer is not None and customer.blocked_at:
            decisions.append((n, "finish", Status.BLOCKED, "customer blocked the bot"))
            continue
        if n.broadcast_id and n.broadcast and n.broadcast.status == Broadcast.Status.CANCELLED:
            decisions.append((n, "finish", Status.CANCELLED, "broadcast cancelled"))
            continue
        if n.transactional or customer is None:
            decisions.append((n, "send", None, ""))
            continue
        if n.type in types.AUTOMATIC and not settings.ENABLE_AUTO_NOTIFICATIONS:
            decisions.append((n, "finish", Status.CANCELLED, "automatic notifications are off"))
            continue
        p = preferences_for(prefs.get(n.customer_id))
        if n.type in p.disabled:
            decisions.append((n, "finish", Status.CANCELLED, "turned off by the customer"))
            continue
        if n.type == types.SERVICE_EXPIRING and not _still_expiring(n, now):
            decisions.append((n, "finish", Status.CANCELLED, "renewed or no longer active"))
            continue
        if not (n.urgent and bypass_urgent):
            tz_name = customer.tz_name
            until = quiet_until(now, tz_name, p.quiet)
            if until is not None:
                decisions.append((n, "defer", until, "quiet_hours"))
                continue
            sent_times = recent.get(n.customer_id, []) + extra[n.customer_id]
            if p.daily_limit:
                day_start = local_day_start(now, tz_name)
                if sum(1 for t in sent_times if t >= day_start) >= p.daily_limit:
                    next_day = datetime.combine(day_start.date() + timedelta(days=1), dtime(0), tzinfo=day_start.tzinfo)
                    decisions.append((n, "defer", next_day, "daily_limit"))
                    continue
            if p.min_interval and sent_times:
                earliest = max(sent_times) + p.min_interval
                if earliest > now:
                    decisions.append((n, "defer", earliest, "spacing"))
                    continue
            extra[n.customer_id].append(now)
        decisions.append((n, "send", None, ""))
    return decisions


def _still_expiring(n: Notification, now: datetime) -> bool:
    if not n.object_id:
        return True
    sub = Subscription.objects.filter(pk=n.object_id).only("status", "expires_at").first()
    if sub is None or sub.status != Subscription.Status.ACTIVE or sub.expires_at <= now:
        return False
    return not Subscription.objects.filter(renewed_from_id=n.object_id).exists()


def _job_for(n: Notification) -> _Job:
    text = notification_render(n)
    markup = inline_keyboard([[tuple(b) for b in row] for row in n.buttons]) if n.buttons else None
    paid = bool(n.broadcast_id and n.broadcast and n.broadcast.paid and settings.NOTIFICATION_ALLOW_PAID_BROADCAST)
    return _Job(pk=n.pk, chat_id=n.chat_id, text=text, photo=n.photo, markup=markup, parse_mode=n.parse_mode, paid=paid)


def _limited_customers(rows: list[Notification]) -> list[int]:
    """The customers whose rows in this batch go through the daily limit and spacing check;
    each gets a settings row (empty: the shop's defaults) to lock while deciding."""
    bypass_urgent = settings.NOTIFICATION_URGENT_BYPASS
    ids = sorted({n.customer_id for n in rows if n.customer_id and not n.transactional and not (n.urgent and bypass_urgent)})
    if ids:
        have = set(NotificationSettings.objects.filter(customer_id__in=ids).values_list("customer_id", flat=True))
        missing = [NotificationSettings(customer_id=pk) for pk in ids if pk not in have]
        if missing:
            NotificationSettings.objects.bulk_create(missing, ignore_conflicts=True)
    return ids


def _process_batch(rows: list[Notification]) -> ProcessResult:
    """Decide, send, record. The decision for a customer is taken under the lock of their
    settings row and marks each row it sends (sent_at, while still pending and claimed), so
    two workers sending to the same customer at once count each other's messages: the daily
    limit and the spacing hold exactly."""
    now = timezone.now()
    limited = _limited_customers(rows)

    def decide():
        logs: list[NotificationLog] = []
        to_send: list[tuple[Notification, _Job]] = []
        counts = ProcessResult(batches=1)
        _read_committed()
        with transaction.atomic():
            if limited:
                list(NotificationSettings.objects.select_for_update().filter(customer_id__in=limited)
                     .order_by("customer_id").values_list("pk", flat=True))
            decisions = _plan(rows, now)
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
            if to_send:  # being sent: counted by the other workers' decisions (see _recent_sent)
                Notification.objects.filter(pk__in=[n.pk for n, _job in to_send]).update(sent_at=now)
        return logs, to_send, counts

    logs, to_send, result = _retrying(decide)
    threads = min(settings.NOTIFICATION_SEND_THREADS, len(to_send))
    if threads > 1 and not connection.in_atomic_block:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            outcomes = list(pool.map(_send_threaded, [job for _n, job in to_send]))
    else:
        outcomes = [_send_one(job) for _n, job in to_send]
    _retrying(lambda: _record(to_send, outcomes, logs, result))
    return result


def _record(to_send, outcomes, logs, result) -> None:
    """Write the outcomes of a batch (all or nothing, retried on deadlock)."""
    logs = list(logs)
    counts = ProcessResult()
    now = timezone.now()
    _read_committed()
    with transaction.atomic():
        for (n, job), outcome in zip(to_send, outcomes, strict=True):
            mine = Notification.objects.filter(pk=n.pk, claim_token=n.claim_token)
            attempt = n.attempts + 1
            logs.append(NotificationLog(notification=n, attempt=attempt, status=outcome.kind if outcome.kind != "fatal" else "error",
                                        error=outcome.error[:500], telegram_message_id=outcome.message_id,
                                        duration_ms=outcome.duration_ms))
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
        NotificationLog.objects.bulk_create(logs, batch_size=500)
    result.add(counts)


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
        for bid in {n.broadcast_id for n in rows if n.broadcast_id}:
            broadcast_refresh(broadcast_id=bid)
        if ids is not None or (max_batches and total.batches >= max_batches) or time.monotonic() - started >= budget:
            break
    return total


# --- scans ---------------------------------------------------------------------------------------------------

def _vendor_sql():
    vendor = connection.vendor
    if vendor == "postgresql":
        return ("INSERT INTO", "ON CONFLICT (dedup_key) DO NOTHING", lambda *p: "(" + " || ".join(p) + ")",
                "CAST(FLOOR(EXTRACT(EPOCH FROM s.expires_at)) AS BIGINT)", "'[]'::jsonb", "'{}'::jsonb", "CAST(%s AS varchar)")
    if vendor == "mysql":
        return ("INSERT IGNORE INTO", "", lambda *p: "CONCAT(" + ", ".join(p) + ")",
                "TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', s.expires_at)", "'[]'", "'{}'", "%s")
    return ("INSERT OR IGNORE INTO", "", lambda *p: "(" + " || ".join(p) + ")",
            "CAST(strftime('%%s', s.expires_at) AS INTEGER)", "'[]'", "'{}'", "%s")


def _insert_expiry_rows(*, type_: str, stage: str, lower: datetime, upper: datetime, now: datetime,
                        statuses: list[str]) -> int:
    insert, conflict, concat, epoch, empty_list, empty_obj, text_param = _vendor_sql()
    table = Notification._meta.db_table
    subs = Subscription._meta.db_table
    customers = Customer._meta.db_table
    ops = connection.ops
    key = concat(text_param, "CAST(s.customer_id AS CHAR(20))" if connection.vendor == "mysql" else "CAST(s.customer_id AS VARCHAR(20))",
                 "':'", "CAST(s.id AS CHAR(20))" if connection.vendor == "mysql" else "CAST(s.id AS VARCHAR(20))",
                 text_param, f"CAST({epoch} AS CHAR(20))" if connection.vendor == "mysql" else f"CAST({epoch} AS VARCHAR(20))")
    status_list = ", ".join(["%s"] * len(statuses))
    sql = (
        f"{insert} {table} (customer_id, chat_id, type, status, dedup_key, language, text, photo, buttons, parse_mode, "
        f"context, object_id, urgent, transactional, priority, source, scheduled_for, deferred_count, deferred_reason, "
        f"attempts, claim_token, last_error, created_at) "
        f"SELECT s.customer_id, c.telegram_id, %s, 'pending', {key}, '', '', '', {empty_list}, 'HTML', {empty_obj}, s.id, "
        f"%s, %s, 0, 'scan', %s, 0, '', 0, '', '', %s "
        f"FROM {subs} s INNER JOIN {customers} c ON c.id = s.customer_id "
        f"WHERE s.status IN ({status_list}) AND s.expires_at > %s AND s.expires_at <= %s AND c.blocked_at IS NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {subs} r WHERE r.renewed_from_id = s.id) {conflict}"
    )
    stamp = ops.adapt_datetimefield_value(now)
    params = [type_, f"{type_}:", f":{stage}:", False, False, stamp, stamp, *statuses,
              ops.adapt_datetimefield_value(lower), ops.adapt_datetimefield_value(upper)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def notification_scan_expiries(*, now: datetime | None = None) -> int:
    """Create the due expiry notifications in bulk: 3 days and 1 day before the end, and at
    the end (service expired); each once per subscription period. Returns how many."""
    if not settings.ENABLE_AUTO_NOTIFICATIONS:
        return 0
    now = now or timezone.now()
    active = [Subscription.Status.ACTIVE]
    created = 0
    with transaction.atomic():
        created += _insert_expiry_rows(type_=types.SERVICE_EXPIRING, stage="1d", lower=now,
                                       upper=now + timedelta(days=1), now=now, statuses=active)
        created += _insert_expiry_rows(type_=types.SERVICE_EXPIRING, stage="3d", lower=now + timedelta(days=1),
                                       upper=now + timedelta(days=3), now=now, statuses=active)
        created += _insert_expiry_rows(
            type_=types.SERVICE_EXPIRED, stage="x", lower=now - timedelta(days=settings.NOTIFICATION_EXPIRED_LOOKBACK_DAYS),
            upper=now, now=now, statuses=[Subscription.Status.ACTIVE, Subscription.Status.EXPIRED])
    return created


def notification_scan_wallets(*, now: datetime | None = None) -> int:
    """Low-balance warnings: customers with a running service whose balance is below
    LOW_BALANCE_THRESHOLD or below their plan's renewal price; at most once per N days."""
    if not settings.ENABLE_AUTO_NOTIFICATIONS:
        return 0
    now = now or timezone.now()
    every = max(1, settings.NOTIFICATION_LOW_BALANCE_EVERY_DAYS)
    threshold = settings.LOW_BALANCE_THRESHOLD
    recent = (Notification.objects.filter(type=types.LOW_BALANCE, created_at__gt=now - timedelta(days=every))
              .values("customer_id"))
    candidates = (Customer.objects.filter(blocked_at__isnull=True, subscriptions__status=Subscription.Status.ACTIVE,
                                          subscriptions__expires_at__gt=now)
                  .annotate(renewal_price=Max("subscriptions__plan__price_amount"))
                  .filter(Q(balance_amount__lt=threshold) | Q(balance_amount__lt=F("renewal_price")))
                  .exclude(pk__in=recent)
                  .values_list("pk", "telegram_id", "balance_amount", "renewal_price"))
    period = int(now.timestamp() // 86400) // every
    created = 0
    batch: list[Notification] = []

    def flush():
        nonlocal created
        keys = [n.dedup_key for n in batch]
        existing = set(Notification.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
        fresh = [n for n in batch if n.dedup_key not in existing]
        Notification.objects.bulk_create(fresh, ignore_conflicts=True)
        created += len(fresh)
        batch.clear()

    with transaction.atomic():
        for pk, telegram_id, balance, price in candidates.iterator(chunk_size=2000):
            batch.append(Notification(
                customer_id=pk, chat_id=telegram_id, type=types.LOW_BALANCE,
                dedup_key=_full_key(types.LOW_BALANCE, pk, f"p{period}"), source="scan",
                context={"balance": balance, "threshold": threshold, "renewal_price": price},
                scheduled_for=now, created_at=now))
            if len(batch) >= 1000:
                flush()
        if batch:
            flush()
    return created


# --- broadcasts ------------------------------------------------------------------------------------------------

def _parse_buttons(buttons) -> list:
    rows = []
    for row in buttons or []:
        rows.append([[str(label)[:64], str(action)] for label, action in row])
    if rows:
        inline_keyboard([[tuple(b) for b in row] for row in rows])
    return rows


def broadcast_validate(*, text: str = "", photo: str = "", buttons=None, audience: str = "all", paid: bool = False) -> list:
    """Check a broadcast's content; returns the normalised buttons."""
    text = (text or "").strip()
    if not text and not photo:
        raise NotificationError(_("A broadcast needs a text or a photo."))
    if len(text) > (1024 if photo else 4096):
        raise NotificationError(_("The text is too long: %(max)s characters at most.") % {"max": 1024 if photo else 4096})
    if audiences.get_audience(audience) is None:
        raise NotificationError(_("Unknown audience %(key)s.") % {"key": audience})
    if paid and not settings.NOTIFICATION_ALLOW_PAID_BROADCAST:
        raise NotificationError(_("Paid broadcasts are turned off (NOTIFICATION_ALLOW_PAID_BROADCAST)."))
    try:
        return _parse_buttons(buttons)
    except (ValueError, TypeError):
        raise NotificationError(_("The buttons are not valid.")) from None


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
            from .tasks import run_broadcast

            transaction.on_commit(partial(run_broadcast.delay, b.pk))
    return b


def broadcast_get(*, broadcast_id) -> Broadcast | None:
    """The broadcast with this id (an int or its text), None when there is none."""
    text = str(broadcast_id)
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    return Broadcast.objects.filter(pk=int(text)).first()


def broadcast_configure(*, broadcast_id: int, audience: str | None = None, paid: bool | None = None) -> Broadcast:
    """Choose the audience (and paid delivery) of a draft."""
    with transaction.atomic():
        b = Broadcast.objects.select_for_update().get(pk=broadcast_id)
        if b.status != Broadcast.Status.DRAFT:
            raise NotificationError(_("This broadcast was already started."))
        if audience is not None:
            if audiences.get_audience(audience) is None:
                raise NotificationError(_("Unknown audience %(key)s.") % {"key": audience})
            b.audience = audience
        if paid is not None:
            if paid and not settings.NOTIFICATION_ALLOW_PAID_BROADCAST:
                raise NotificationError(_("Paid broadcasts are turned off (NOTIFICATION_ALLOW_PAID_BROADCAST)."))
            b.paid = paid
        b.save(update_fields=["audience", "paid"])
    return b


def broadcast_audience_count(*, broadcast: Broadcast) -> int:
    return audiences.audience_queryset(broadcast.audience).count()


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
                dedup_key=_full_key(types.BROADCAST, pk, f"b{b.pk}"), text=b.text, photo=b.photo, buttons=b.buttons,
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


@dataclass
class Progress:
    total: int
    sent: int
    failed: int
    blocked: int
    cancelled: int
    remaining: int
    rate: float
    eta_seconds: int | None


def broadcast_progress(*, broadcast: Broadcast) -> Progress:
    from django.db.models import Count

    counts = dict(Notification.objects.filter(broadcast=broadcast).values_list("status").annotate(n=Count("id")))
    sent = counts.get(Status.SENT, 0)
    remaining = counts.get(Status.PENDING, 0)
    elapsed = (timezone.now() - broadcast.started_at).total_seconds() if broadcast.started_at else 0
    rate = sent / elapsed if elapsed > 0 else 0.0
    eta = int(remaining / rate) if rate > 0 and remaining else (0 if not remaining else None)
    return Progress(total=broadcast.total, sent=sent, failed=counts.get(Status.FAILED, 0),
                    blocked=counts.get(Status.BLOCKED, 0), cancelled=counts.get(Status.CANCELLED, 0),
                    remaining=remaining, rate=rate, eta_seconds=eta)


def broadcast_progress_text(*, broadcast: Broadcast, language: str | None = None) -> tuple[str, list]:
    p = broadcast_progress(broadcast=broadcast)
    with translation.override(language or settings.LANGUAGE_CODE):
        status = {Broadcast.Status.RUNNING: _("running"), Broadcast.Status.PAUSED: _("paused"),
                  Broadcast.Status.CANCELLED: _("cancelled"), Broadcast.Status.DONE: _("finished"),
                  Broadcast.Status.DRAFT: _("draft")}[broadcast.status]
        eta = "—" if p.eta_seconds is None else f"{p.eta_seconds // 60}:{p.eta_seconds % 60:02d}"
        text = _("📣 Broadcast #%(id)s: %(status)s\nSent: %(sent)s · Failed: %(failed)s · Blocked: %(blocked)s\n"
                 "Remaining: %(remaining)s of %(total)s · ETA: %(eta)s") % {
            "id": broadcast.pk, "status": status, "sent": p.sent, "failed": p.failed, "blocked": p.blocked,
            "remaining": p.remaining, "total": p.total, "eta": eta}
        buttons = []
        if broadcast.status == Broadcast.Status.RUNNING:
            buttons = [[(_("⏸ Pause"), f"bc:p:{broadcast.pk}"), (_("✖️ Cancel"), f"bc:c:{broadcast.pk}")]]
        elif broadcast.status == Broadcast.Status.PAUSED:
            buttons = [[(_("▶️ Resume"), f"bc:r:{broadcast.pk}"), (_("✖️ Cancel"), f"bc:c:{broadcast.pk}")]]
    return text, buttons


def broadcast_refresh(*, broadcast_id: int, force: bool = False) -> Broadcast | None:
    """Finish a broadcast with nothing left, and edit its progress message (throttled)."""
    now = timezone.now()
    b = Broadcast.objects.filter(pk=broadcast_id).first()
    if b is None:
        return None
    if b.status == Broadcast.Status.RUNNING and not Notification.objects.filter(broadcast=b, status=Status.PENDING).exists():
        if Broadcast.objects.filter(pk=b.pk, status=Broadcast.Status.RUNNING).update(status=Broadcast.Status.DONE, finished_at=now):
            b.refresh_from_db()
            force = True
    if not b.progress_chat_id or not b.progress_message_id:
        return b
    if not force:
        cutoff = now - timedelta(seconds=settings.NOTIFICATION_BROADCAST_PROGRESS_SECONDS)
        if not Broadcast.objects.filter(pk=b.pk).filter(Q(progress_at__isnull=True) | Q(progress_at__lt=cutoff)).update(progress_at=now):
            return b
    else:
        Broadcast.objects.filter(pk=b.pk).update(progress_at=now)
    admin = Customer.objects.filter(telegram_id=b.progress_chat_id).first()
    text, buttons = broadcast_progress_text(broadcast=b, language=admin.effective_language if admin else None)
    params = {"chat_id": b.progress_chat_id, "message_id": b.progress_message_id, "text": text,
              "reply_markup": inline_keyboard(buttons) if buttons else {"inline_keyboard": []}}
    try:
        get_sender().call("editMessageText", params)
    except TelegramError as exc:
        if "not modified" not in exc.description:
            log.info("broadcast progress not edited: %s", exc.description)
    return b


def broadcast_run(*, broadcast_id: int, time_budget: float = 3600.0) -> ProcessResult:
    """Send a running broadcast until it is done, paused or cancelled (or the budget ends;
    the every-minute job continues it, also after a restart)."""
    total = ProcessResult()
    started = time.monotonic()
    while time.monotonic() - started < time_budget:
        if not Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.RUNNING).exists():
            break
        result = notification_process(broadcast_id=broadcast_id, max_batches=1, time_budget=time_budget)
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
