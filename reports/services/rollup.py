"""Figures per closed local day, kept so a report of a month sums ~30 rows per figure instead of
reading every order and ledger row of the month again (docs/reports.md, "Rolled-up days").

A day's additive figures (`span_figures`: sales, discounts by kind, the ledger by reason, method
and refund kind, customers joined) are the same function whether they are read live or kept:
the nightly job stores a closed day's answer (`rollup_day`), and a report sums the kept days
from its first day on, then reads the rest (today, or days not rolled up yet) live. Distinct
buyers, which do not add up across days, are kept as each day's buyers by the day they last
bought before (`DailyBuyers`).

What makes a kept day safe to reuse: the ledger is append-only; an order's paid_at and amounts
never change once it is paid (a refund moves it from paid to refunded, both still sold, and
writes a ledger row of its own day); customers who ever bought cannot be deleted. The nightly
reconciliation compares the kept days with the ledger (`rollup_problems`), and the job always
computes the last two closed days again (a row written just before midnight and committed after
it is counted)."""

from __future__ import annotations

import logging
import time as clock
from collections import defaultdict
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from discounts.models import DiscountUsage
from vpnbot.shop.models import Customer, Order, WalletTransaction

from ..models import DailyBuyers, DailyFigure, RollupDay
from .common import SOLD, as_int, refund_kind, topup_method
from .periods import Period, local_today, midnight, shop_zone

log = logging.getLogger(__name__)

Figures = dict[tuple[str, str], list[int]]  # (metric, key) -> [amount, count]
RECOMPUTE_DAYS = 2  # the closed days the nightly job always computes again
# what a kept day holds; a day kept by another version is not used and is kept again (by the
# nightly job or reports_rollup) -- raise it when a figure is added or counted differently
ROLLUP_VERSION = 2


def _add(figures: Figures, metric: str, key: str, amount=0, count=0) -> None:
    cell = figures.setdefault((metric, key), [0, 0])
    cell[0] += as_int(amount)
    cell[1] += as_int(count)


def span_figures(start, end) -> Figures:
    """The additive figures of [start, end), read from the orders, discount uses, ledger and
    customers (one aggregate each)."""
    figures: Figures = {}
    sold = Order.objects.filter(status__in=SOLD, paid_at__gte=start, paid_at__lt=end).aggregate(
        orders=Count("id"), gross=Sum("list_amount"), discount=Sum("discount_amount"), net=Sum("paid_amount"))
    _add(figures, "orders", "", sold["net"], sold["orders"])
    _add(figures, "gross", "", sold["gross"])
    _add(figures, "discount", "", sold["discount"])
    kinds = (DiscountUsage.objects.filter(order__status__in=SOLD, order__paid_at__gte=start, order__paid_at__lt=end)
             .values("discount__kind").annotate(total=Sum("amount")).order_by("discount__kind"))
    for row in kinds:
        _add(figures, "discount_kind", row["discount__kind"] or "", row["total"])
    moves = (WalletTransaction.objects.filter(created_at__gte=start, created_at__lt=end)
             .annotate(method=topup_method(), refund=refund_kind())
             .values("reason", "method", "refund").annotate(total=Sum("amount"), n=Count("id"))
             .order_by("reason", "method", "refund"))
    for row in moves:
        _add(figures, "ledger", f"{row['reason']}:{row['method']}:{row['refund']}", row["total"], row["n"])
    _add(figures, "joined", "", 0, Customer.objects.filter(joined_at__gte=start, joined_at__lt=end).count())
    return figures


def ledger_by(figures: Figures):
    """The ledger cells of a Figures as (reason, method, refund kind, amount, rows)."""
    for (metric, key), (amount, count) in figures.items():
        if metric == "ledger":
            reason, method, refund = key.split(":")
            yield reason, method, refund, amount, count


# --- writing ------------------------------------------------------------------------------------------------

def _buyers_by_previous_day(start, end) -> dict[date | None, int]:
    """Customers who bought in [start, end) (one local day), by the last local day they had
    bought on before it (None: never)."""
    zone = shop_zone()
    sold = Order.objects.filter(status__in=SOLD)
    earlier_today = sold.filter(customer_id=OuterRef("customer_id"), paid_at__gte=start).filter(
        Q(paid_at__lt=OuterRef("paid_at")) | Q(paid_at=OuterRef("paid_at"), pk__lt=OuterRef("pk")))
    before = sold.filter(customer_id=OuterRef("customer_id"), paid_at__lt=start).order_by("-paid_at").values("paid_at")[:1]
    rows = (sold.filter(paid_at__gte=start, paid_at__lt=end).filter(~Exists(earlier_today))
            .annotate(previous=TruncDate(Subquery(before), tzinfo=zone)).values("previous")
            .annotate(n=Count("id")).order_by())
    return {row["previous"]: row["n"] for row in rows}


def rollup_day(day: date) -> RollupDay:
    """Compute a closed local day's figures and keep them, replacing what was kept for it."""
    if day >= local_today():
        raise ValueError(f"{day} has not ended yet")
    from .sales import span_sales

    start, end = midnight(day), midnight(day + timedelta(days=1))
    figures = span_figures(start, end)
    sales = span_sales(start, end)
    buyers = _buyers_by_previous_day(start, end)
    ledger_rows = sum(count for *_, count in ledger_by(figures))
    ledger_total = sum(amount for *_, amount, _count in ledger_by(figures))
    with transaction.atomic():
        RollupDay.objects.filter(zone=settings.TIME_ZONE, day=day).delete()
        kept = RollupDay.objects.create(zone=settings.TIME_ZONE, day=day, version=ROLLUP_VERSION,
                                        ledger_rows=ledger_rows, ledger_total_amount=ledger_total)
        DailyFigure.objects.bulk_create([
            DailyFigure(rollup=kept, metric=metric, key=key, amount=amount, count=count)
            for (metric, key), (amount, count) in (figures | sales).items() if amount or count])
        DailyBuyers.objects.bulk_create([DailyBuyers(rollup=kept, previous_day=previous, buyers=n)
                                         for previous, n in buyers.items()])
    return kept


def first_activity_day() -> date | None:
    """The local day of the shop's first customer (nothing before it to roll up)."""
    first = Customer.objects.order_by("joined_at").values_list("joined_at", flat=True).first()
    return timezone.localtime(first, shop_zone()).date() if first else None


def rollup_missing(*, since: date | None = None, until: date | None = None, rebuild: bool = False,
                   progress=None) -> dict:
    """Roll up every closed day from `since` (the first customer's day) to `until` (yesterday)
    that is not kept yet, plus the last RECOMPUTE_DAYS closed days again; all of them when
    `rebuild`. Returns what it did."""
    yesterday = local_today() - timedelta(days=1)
    until = min(until or yesterday, yesterday)
    since = since or first_activity_day() or until
    kept = set(RollupDay.objects.filter(zone=settings.TIME_ZONE, version=ROLLUP_VERSION, day__gte=since, day__lte=until)
               .values_list("day", flat=True))
    days, day = [], since
    while day <= until:
        if rebuild or day not in kept or (yesterday - day).days < RECOMPUTE_DAYS:
            days.append(day)
        day += timedelta(days=1)
    began = clock.monotonic()
    for i, day in enumerate(days, 1):
        rollup_day(day)
        if progress:
            progress(i, len(days), day)
    return {"days": len(days), "first": days[0].isoformat() if days else None,
            "last": days[-1].isoformat() if days else None, "seconds": round(clock.monotonic() - began, 2)}


# --- reading ------------------------------------------------------------------------------------------------

def kept_until(period: Period) -> date:
    """The first day of the period from which nothing is kept: the period's days before it are
    all rolled up (in the shop's time zone), the rest are read live."""
    kept = set(RollupDay.objects.filter(zone=settings.TIME_ZONE, version=ROLLUP_VERSION, day__gte=period.first_day,
                                        day__lte=period.last_day).values_list("day", flat=True))
    day = period.first_day
    while day in kept and day <= period.last_day:
        day += timedelta(days=1)
    return day


def kept_figures(first: date, stop: date, *, prefix: str = "") -> Figures:
    """The kept days [first, stop) summed per figure: the money figures, or (prefix "sales:")
    the sales by plan, panel, reseller and method."""
    figures: Figures = {}
    if stop <= first:
        return figures
    rows = DailyFigure.objects.filter(rollup__zone=settings.TIME_ZONE, rollup__day__gte=first, rollup__day__lt=stop)
    rows = (rows.filter(metric__startswith=prefix) if prefix else rows.exclude(metric__startswith="sales:"))
    rows = (rows.values("metric", "key").annotate(amount=Sum("amount"), count=Sum("count")).order_by())
    for row in rows:
        _add(figures, row["metric"], row["key"], row["amount"], row["count"])
    return figures


def kept_days(first: date, stop: date, metrics: tuple[str, ...]) -> dict[date, Figures]:
    """The kept days [first, stop) one by one (the charts)."""
    out: dict[date, Figures] = defaultdict(dict)
    rows = (DailyFigure.objects.filter(rollup__zone=settings.TIME_ZONE, rollup__day__gte=first, rollup__day__lt=stop,
                                       metric__in=metrics).values_list("rollup__day", "metric", "key", "amount", "count"))
    for day, metric, key, amount, count in rows:
        _add(out[day], metric, key, amount, count)
    return out


def period_figures(period: Period) -> tuple[Figures, date]:
    """The period's additive figures: the kept days, then the rest live. Also returns the first
    day read live (after the period's last day when every day was kept)."""
    stop = kept_until(period)
    figures = kept_figures(period.first_day, stop)
    if stop <= period.last_day:
        for key, (amount, count) in span_figures(midnight(stop), period.end).items():
            _add(figures, *key, amount, count)
    return figures, stop


def buyers(period: Period, stop: date) -> tuple[int, int]:
    """(distinct buyers, buyers with no purchase before the period) of the period, the kept days
    [first_day, stop) from their DailyBuyers rows and the rest live."""
    first = period.first_day
    kept = DailyBuyers.objects.filter(rollup__zone=settings.TIME_ZONE, rollup__day__gte=first, rollup__day__lt=stop)
    counted = kept.aggregate(all=Sum("buyers", filter=Q(previous_day__isnull=True) | Q(previous_day__lt=first)),
                             new=Sum("buyers", filter=Q(previous_day__isnull=True)))
    total, new = as_int(counted["all"]), as_int(counted["new"])
    if stop <= period.last_day:
        live_start = midnight(stop)
        sold = Order.objects.filter(status__in=SOLD)
        live = sold.filter(paid_at__gte=live_start, paid_at__lt=period.end)
        kept_before = sold.filter(customer_id=OuterRef("customer_id"), paid_at__gte=period.start, paid_at__lt=live_start)
        ever_before = sold.filter(customer_id=OuterRef("customer_id"), paid_at__lt=live_start)
        total += live.filter(~Exists(kept_before)).values("customer_id").distinct().count() if stop > first else \
            live.values("customer_id").distinct().count()
        new += live.filter(~Exists(ever_before)).values("customer_id").distinct().count()
    return total, new


def rollup_problems() -> list[dict]:
    """The kept days whose ledger rows or total differ from the ledger now (the reconciliation's
    check): each such day, to compute again with `manage.py reports_rollup --rebuild`."""
    kept = {row["day"]: row for row in RollupDay.objects.filter(zone=settings.TIME_ZONE)
            .values("day", "ledger_rows", "ledger_total_amount")}
    if not kept:
        return []
    first, last = min(kept), max(kept)
    rows = (WalletTransaction.objects.filter(created_at__gte=midnight(first), created_at__lt=midnight(last + timedelta(days=1)))
            .annotate(local_day=TruncDate("created_at", tzinfo=shop_zone())).values("local_day")
            .annotate(n=Count("id"), total=Sum("amount")).order_by())
    actual = {row["local_day"]: (row["n"], as_int(row["total"])) for row in rows}
    problems = []
    for day, row in sorted(kept.items()):
        n, total = actual.get(day, (0, 0))
        if (n, total) != (row["ledger_rows"], row["ledger_total_amount"]):
            problems.append({"day": day.isoformat(), "kept_rows": row["ledger_rows"], "ledger_rows": n,
                             "kept_total_amount": row["ledger_total_amount"], "ledger_total_amount": total})
    return problems
