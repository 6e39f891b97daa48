"""The SQL dialect of the set-based recompute: the few expressions that differ per vendor
(date arithmetic, integer division, null-safe comparison) and named parameters."""

from __future__ import annotations

import re
from datetime import datetime

from django.db import connection

_PARAM = re.compile(r":([a-z_]+)\b")


def vendor() -> str:
    return connection.vendor  # "postgresql", "mysql", "sqlite"


def days_between(a: str, b: str) -> str:
    """Whole days from a to b (truncated toward zero)."""
    name = vendor()
    if name == "postgresql":
        return (f"CAST(TRUNC(EXTRACT(EPOCH FROM (CAST({b} AS timestamptz) - CAST({a} AS timestamptz))) / 86400) "
                f"AS INTEGER)")
    if name == "mysql":
        return f"TIMESTAMPDIFF(DAY, {a}, {b})"
    return f"CAST(julianday({b}) - julianday({a}) AS INTEGER)"


def int_div(a: str, b: str) -> str:
    name = vendor()
    if name == "mysql":
        return f"(({a}) DIV ({b}))"
    if name == "postgresql":
        return f"(CAST({a} AS BIGINT) / ({b}))"
    return f"(({a}) / ({b}))"


def differs(a: str, b: str) -> str:
    """a and b differ, NULL counting as a value."""
    name = vendor()
    if name == "postgresql":
        return f"{a} IS DISTINCT FROM {b}"
    if name == "mysql":
        return f"NOT ({a} <=> {b})"
    return f"{a} IS NOT {b}"


def execute(cursor, sql: str, params: dict) -> int:
    """Run sql whose :name placeholders come from params (datetimes adapted per vendor)."""
    values = []

    def take(match):
        value = params[match.group(1)]
        if isinstance(value, datetime):
            value = connection.ops.adapt_datetimefield_value(value)
        values.append(value)
        return "%s"

    cursor.execute(_PARAM.sub(take, sql), values)
    return cursor.rowcount
