"""A reseller's figures: this month's (the menu, the admin) and the monthly statement (CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.utils import timezone

from vpnbot.shop.models import Order, WalletTransaction

from ..models import Account, Commission, Reseller


@dataclass
class Figures:
    accounts_bought: int
    renewals: int
    spent_amount: int
    commission_amount: int
    sub_resellers: int
    sub_reseller_sales_amount: int
    accounts_running: int


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The month in the shop's time zone, as [start, end) aware datetimes."""
    zone = timezone.get_current_timezone()
    start = dt.datetime(year, month, 1, tzinfo=zone)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start, end


def reseller_figures(*, reseller: Reseller, start: dt.datetime, end: dt.datetime) -> Figures:
    """Counted with a few aggregate queries: purchases and renewals of the reseller's accounts,
    what they paid, the commissions they earned and their sub-resellers' purchases."""
    orders = Order.objects.filter(customer_id=reseller.customer_id, paid_at__gte=start, paid_at__lt=end,
                                  idempotency_key__startswith="rs")
    agg = orders.aggregate(bought=Count("pk", filter=Q(idempotency_key__startswith="rs:")),
                           renewals=Count("pk", filter=Q(idempotency_key__startswith="rsr:")),
                           spent=Sum("paid_amount"), refunded=Sum("refunded_amount"))
    commission = Commission.objects.filter(reseller=reseller, created_at__gte=start, created_at__lt=end).aggregate(
        earned=Sum("amount"), back=Sum("reversed_amount"))
    subs = Reseller.objects.filter(parent=reseller, is_active=True).count()
    sub_sales = Order.objects.filter(customer__reseller__parent=reseller, paid_at__gte=start, paid_at__lt=end,
                                     idempotency_key__startswith="rs").aggregate(total=Sum("paid_amount"))
    running = Account.objects.filter(reseller=reseller, subscription__status="active",
                                     subscription__expires_at__gt=timezone.now()).count()
    return Figures(accounts_bought=agg["bought"] or 0, renewals=agg["renewals"] or 0,
                   spent_amount=(agg["spent"] or 0) - (agg["refunded"] or 0),
                   commission_amount=(commission["earned"] or 0) - (commission["back"] or 0),
                   sub_resellers=subs, sub_reseller_sales_amount=sub_sales["total"] or 0, accounts_running=running)


def reseller_statement_csv(*, reseller: Reseller, year: int, month: int) -> tuple[str, bytes]:
    """(file name, CSV bytes): every wallet movement of the month with its running balance,
    opening and closing balance, for the reseller's own books."""
    start, end = month_bounds(year, month)
    rows = WalletTransaction.objects.filter(customer_id=reseller.customer_id, created_at__gte=start,
                                            created_at__lt=end).order_by("pk")
    before = (WalletTransaction.objects.filter(customer_id=reseller.customer_id, created_at__lt=start)
              .order_by("-pk").values_list("balance_after", flat=True).first()) or 0
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "reason", "source", "amount", "balance_after", "note"])
    writer.writerow([start.date().isoformat(), "opening_balance", "", "", before, ""])
    closing = before
    for row in rows.iterator(chunk_size=1000):
        writer.writerow([timezone.localtime(row.created_at).isoformat(), row.reason, row.source, row.amount,
                         row.balance_after, row.note])
        closing = row.balance_after
    figures = reseller_figures(reseller=reseller, start=start, end=end)
    writer.writerow([(end - dt.timedelta(seconds=1)).date().isoformat(), "closing_balance", "", "", closing, ""])
    writer.writerow([])
    for name, value in (("accounts_bought", figures.accounts_bought), ("renewals", figures.renewals),
                        ("spent_amount", figures.spent_amount), ("commission_amount", figures.commission_amount),
                        ("sub_reseller_sales_amount", figures.sub_reseller_sales_amount)):
        writer.writerow(["", name, "", value, "", ""])
    return f"reseller-{reseller.pk}-{year:04d}-{month:02d}.csv", ("\ufeff" + buffer.getvalue()).encode()
