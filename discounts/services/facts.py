"""What the quote engine knows about a customer (paid orders, spend, discount uses, loaded in
one query) and the context the condition engine evaluates (the CRM builds it here too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from vpnbot.shop.models import Customer, Order

from ..models import DiscountUsage
from .calendars import customer_zone
from .rules import level_for


@dataclass
class Facts:
    """What the engine knows about a customer, loaded in one query."""

    paid_orders: int = 0
    last_order_at: datetime | None = None
    lifetime_spend: int = 0
    usage: dict[int, tuple[int, datetime | None]] = field(default_factory=dict)  # discount id -> (count, last use)

    @property
    def level(self) -> str:
        return level_for(self.lifetime_spend)


def _aware(value) -> datetime | None:
    """A datetime from raw SQL: aware on PostgreSQL, naive UTC on MariaDB, text on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def customer_facts(customer: Customer | None, *, with_usage: bool = True) -> Facts:
    """The customer's paid orders, spend and discount uses, in one query (the hot path)."""
    if customer is None or customer.pk is None:
        return Facts()
    orders, usages = Order._meta.db_table, DiscountUsage._meta.db_table
    sql = (f"SELECT 0, 0, SUM(CASE WHEN status = %s THEN 1 ELSE 0 END), MAX(CASE WHEN status = %s THEN paid_at END), "
           f"SUM(paid_amount), SUM(refunded_amount) FROM {orders} WHERE customer_id = %s AND status IN (%s, %s)")
    params = [Order.Status.PAID, Order.Status.PAID, customer.pk, Order.Status.PAID, Order.Status.REFUNDED]
    if with_usage:
        sql += (f" UNION ALL SELECT 1, discount_id, COUNT(*), MAX(created_at), 0, 0 FROM {usages} "
                f"WHERE customer_id = %s AND released_at IS NULL GROUP BY discount_id")
        params.append(customer.pk)
    facts = Facts()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row_type, discount_id, count, last, paid_sum, refunded_sum in cursor.fetchall():
            if int(row_type) == 0:
                facts.paid_orders = int(count or 0)
                facts.last_order_at = _aware(last)
                facts.lifetime_spend = max(0, int(paid_sum or 0) - int(refunded_sum or 0))
            else:
                facts.usage[int(discount_id)] = (int(count), _aware(last))
    return facts


def condition_context(*, customer, plan, quantity: int, amount: int, at: datetime, facts: Facts) -> dict:
    local = at.astimezone(customer_zone(customer))
    return {"customer": customer, "plan": plan, "quantity": quantity, "amount": amount, "at": at, "local": local,
            "language": customer.effective_language if customer else settings.LANGUAGE_CODE,
            "paid_orders": facts.paid_orders, "last_order_at": facts.last_order_at,
            "joined_at": customer.joined_at if customer else None, "level": facts.level,
            "lifetime_spend": facts.lifetime_spend, "cache": {}}
