"""Which discounts could apply at a moment: the shared ones from a per-process cache that one
small query per quote keeps honest, the personal, coded and use-limited ones read fresh."""

from __future__ import annotations

import threading
from datetime import datetime

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from vpnbot.shop.models import Customer

from ..models import CashbackRule, SmartDiscount


def candidates_query(*, customer: Customer | None, at: datetime, code: str = ""):
    """Every discount that could apply now, as one query: the reference that `candidates`
    (process cache + one query) must equal; see the tests."""
    qs = SmartDiscount.objects.filter(status=SmartDiscount.Status.ACTIVE, starts_at__lte=at).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=at)).filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
    qs = qs.filter(Q(customer__isnull=True) | Q(customer=customer)) if customer is not None else qs.filter(customer__isnull=True)
    code = (code or "").strip().upper()
    qs = qs.filter(Q(code__isnull=True) | Q(code=code)) if code else qs.filter(code__isnull=True)
    return qs.order_by("-priority", "id")


# The public, unlimited, code-less discounts are the many that every quote looks at, and the
# cashback rules are few: each process keeps both in memory and checks with one small query per
# quote that nothing changed (count, newest id, newest updated_at of each table). The
# personal, coded and use-limited discounts, whose counters move, are read fresh in one query.
_SHARED = Q(customer__isnull=True, code__isnull=True, max_uses__isnull=True)
_cache_lock = threading.Lock()
_cache: dict = {"key": None, "discounts": [], "rules": []}


def cache_clear(**kwargs) -> None:
    with _cache_lock:
        _cache.update(key=None, discounts=[], rules=[])


def _cache_key() -> tuple:
    d, r = SmartDiscount._meta.db_table, CashbackRule._meta.db_table
    sql = (f"SELECT COUNT(*), MAX(id), MAX(updated_at) FROM {d} WHERE customer_id IS NULL AND code IS NULL "
           f"AND max_uses IS NULL UNION ALL SELECT COUNT(*), MAX(id), MAX(updated_at) FROM {r}")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(tuple(str(v) for v in row) for row in cursor.fetchall())


def cached() -> dict:
    """{"discounts": the shared discounts, "rules": the active cashback rules (with plan_ids)}."""
    key = _cache_key()
    with _cache_lock:
        if _cache["key"] == key:
            return _cache
    discounts = list(SmartDiscount.objects.filter(_SHARED).exclude(status=SmartDiscount.Status.ARCHIVED))
    rules = list(CashbackRule.objects.filter(is_active=True).prefetch_related("plans"))
    for rule in rules:
        rule.plan_ids = frozenset(p.pk for p in rule.plans.all())
    with _cache_lock:
        _cache.update(key=key, discounts=discounts, rules=rules)
        return dict(_cache)


def candidates(*, customer: Customer | None, at: datetime, code: str = "", cache: dict | None = None) -> list[SmartDiscount]:
    """The same set as candidates_query (unordered), the shared part from the process cache."""
    active = SmartDiscount.Status.ACTIVE
    found = [d for d in (cache or cached())["discounts"] if d.status == active and d.starts_at <= at
             and (d.ends_at is None or d.ends_at > at)]
    # Raw SQL: the ORM would spend longer composing this query than the database answering it.
    table = SmartDiscount._meta.db_table
    where = ["(customer_id IS NULL AND code IS NULL AND max_uses IS NOT NULL)"]
    params: list = [active]
    if customer is not None:
        where.append("(customer_id = %s AND code IS NULL)")
        params.append(customer.pk)
    code = (code or "").strip().upper()
    if code:
        where.append("(code = %s AND (customer_id IS NULL OR customer_id = %s))")
        params += [code, customer.pk if customer is not None else None]
    sql = f"SELECT * FROM {table} WHERE status = %s AND ({' OR '.join(where)})"
    for d in SmartDiscount.objects.raw(sql, params):
        if d.starts_at <= at and (d.ends_at is None or d.ends_at > at) and (d.max_uses is None or d.used_count < d.max_uses):
            found.append(d)
    return found


def rule_touch(instance=None, **kwargs) -> None:
    """A rule's plans changed (no save of the rule itself): mark it changed for every process."""
    if isinstance(instance, CashbackRule) and kwargs.get("action", "").startswith("post_"):
        CashbackRule.objects.filter(pk=instance.pk).update(updated_at=timezone.now())
    cache_clear()
