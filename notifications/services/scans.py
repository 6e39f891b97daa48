"""Scans, set-based and idempotent: expiry reminders (3 days, 1 day, at the end) written by one
INSERT … SELECT per stage, and low-wallet warnings at most once per N days."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from vpnbot.shop.models import Customer, Subscription

from .. import types
from ..models import Notification
from .outbox import full_key


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
        f"AND s.resold = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {subs} r WHERE r.renewed_from_id = s.id) {conflict}"
    )
    stamp = ops.adapt_datetimefield_value(now)
    params = [type_, f"{type_}:", f":{stage}:", False, False, stamp, stamp, *statuses,
              ops.adapt_datetimefield_value(lower), ops.adapt_datetimefield_value(upper), False]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def notification_scan_expiries(*, now: datetime | None = None) -> int:
    """Create the due expiry notifications in bulk: 3 days and 1 day before the end, and at
    the end (service expired); each once per subscription period. Returns how many. Not for
    the accounts a reseller bought for their customers (the reseller manages those)."""
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
                                          subscriptions__expires_at__gt=now, subscriptions__resold=False)
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
                dedup_key=full_key(types.LOW_BALANCE, pk, f"p{period}"), source="scan",
                context={"balance": balance, "threshold": threshold, "renewal_price": price},
                scheduled_for=now, created_at=now))
            if len(batch) >= 1000:
                flush()
        if batch:
            flush()
    return created
