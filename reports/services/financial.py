"""Money in and out over a period, every figure one SQL aggregate (docs/reports.md says which
rows each counts): sales from the paid orders, wallet movements from the ledger, liabilities at
the period's end."""

from __future__ import annotations

from django.db.models import BigIntegerField, Count, Exists, ExpressionWrapper, F, Max, OuterRef, Q, Sum
from django.utils import timezone

from discounts.models import CashbackTransaction, DiscountUsage
from vpnbot.shop.models import Customer, Order, WalletTransaction

from .common import CARD, SOLD, as_int, bucket_of, ledger, paid_orders, providers, refund_kind, topup_method
from .periods import Period, buckets

R = WalletTransaction.Reason
RESELLER_OR_OTHER = "other"


def sales_totals(period: Period) -> dict:
    row = paid_orders(period).aggregate(
        orders=Count("id"), gross=Sum("list_amount"), discount=Sum("discount_amount"), net=Sum("paid_amount"),
        buyers=Count("customer_id", distinct=True))
    return {key: as_int(value) for key, value in row.items()}


def discounts_by_kind(period: Period, total: int) -> dict[str, int]:
    """The smart discounts' uses on the period's orders by kind; what the orders' discounts hold
    beyond them (a reseller's price) is "other"."""
    rows = (DiscountUsage.objects.filter(order__status__in=SOLD, order__paid_at__gte=period.start,
                                         order__paid_at__lt=period.end)
            .values("discount__kind").annotate(total=Sum("amount")).order_by("discount__kind"))
    kinds = {row["discount__kind"]: as_int(row["total"]) for row in rows}
    rest = total - sum(kinds.values())
    if rest:
        kinds[RESELLER_OR_OTHER] = rest
    return kinds


def ledger_totals(period: Period) -> dict:
    """The period's ledger rows summed by reason, top-ups by method and refunds by kind."""
    rows = (ledger(period).annotate(method=topup_method(), refund=refund_kind())
            .values("reason", "method", "refund").annotate(total=Sum("amount"), n=Count("id"))
            .order_by("reason", "method", "refund"))
    by_reason: dict[str, int] = {}
    topups = {method: 0 for method in [CARD, *providers()]}
    refunds = {"wallet": 0, "provider": 0, "other": 0}
    topup_count = 0
    for row in rows:
        total = as_int(row["total"])
        by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + total
        if row["reason"] == R.TOPUP:
            topups[row["method"]] = topups.get(row["method"], 0) + total
            topup_count += row["n"]
        elif row["reason"] == R.REFUND:
            refunds[row["refund"]] += total
    return {"by_reason": by_reason, "topups": {k: v for k, v in topups.items() if v or k != "other"},
            "topup_count": topup_count, "refunds": refunds}


def wallets_at(end) -> dict:
    """What the wallets held at `end`, each one today's balance less its ledger rows since:
    what the shop owes (the balances above zero) and what it is owed (a reseller's balance
    below zero, within their credit limit), kept apart rather than netted. Only the customers
    whose wallet moved since `end` are looked at one by one (from the ledger's index on time);
    everyone else's balance then was their balance now."""
    now = Customer.objects.aggregate(owed=Sum("balance_amount", filter=Q(balance_amount__gt=0)),
                                     owing=Sum("balance_amount", filter=Q(balance_amount__lt=0)))
    owed, owing = as_int(now["owed"]), as_int(now["owing"])
    if end < timezone.now():
        moved = (WalletTransaction.objects.filter(created_at__gte=end).order_by().values("customer_id")
                 .annotate(since=Sum("amount"), balance=Max("customer__balance_amount"))
                 .annotate(then=ExpressionWrapper(F("balance") - F("since"), output_field=BigIntegerField())))
        change = moved.aggregate(now_owed=Sum("balance", filter=Q(balance__gt=0)),
                                 now_owing=Sum("balance", filter=Q(balance__lt=0)),
                                 then_owed=Sum("then", filter=Q(then__gt=0)),
                                 then_owing=Sum("then", filter=Q(then__lt=0)))
        owed += as_int(change["then_owed"]) - as_int(change["now_owed"])
        owing += as_int(change["then_owing"]) - as_int(change["now_owing"])
    return {"liability": owed, "receivable": -owing}


def liability_at(end) -> int:
    """What the shop owed its customers' wallets at `end` (wallets_at's liability)."""
    return wallets_at(end)["liability"]


def cashback_pending_at(end) -> int:
    """Cashback earned before `end` and not yet credited then (nor cancelled by then): still
    pending, or credited since, or cancelled since (a refund before its day)."""
    S = CashbackTransaction.Status
    pending = (CashbackTransaction.objects.filter(created_at__lt=end)
               .filter(Q(status=S.PENDING) | Q(credited_at__gte=end, status__in=(S.CREDITED, S.REVERSED))
                       | Q(reversed_at__gte=end, status=S.CANCELLED)))
    return as_int(pending.aggregate(total=Sum("amount"))["total"])


def new_buyers(period: Period) -> int:
    """Buyers in the period with no paid order before it."""
    earlier = Order.objects.filter(customer_id=OuterRef("customer_id"), status__in=SOLD, paid_at__lt=period.start)
    return (paid_orders(period).filter(~Exists(earlier)).values("customer_id").distinct().count())


def report_financial(period: Period, *, with_reconciliation: bool = True) -> dict:
    """The money report of a period (the staff API's /reports/financial/ answer)."""
    sales = sales_totals(period)
    moves = ledger_totals(period)
    by_reason = moves["by_reason"]
    first_buyers = new_buyers(period)
    wallets, pending = wallets_at(period.end), cashback_pending_at(period.end)
    report = {
        "from": period.first_day.isoformat(), "to": period.last_day.isoformat(), "calendar": period.calendar,
        "label": period.label,
        "orders": sales["orders"],
        "gross_amount": sales["gross"],
        "discount_amount": sales["discount"],
        "discount_amount_by_kind": discounts_by_kind(period, sales["discount"]),
        "net_amount": sales["net"],
        "average_order_amount": sales["net"] // sales["orders"] if sales["orders"] else 0,
        "refund_amount": moves["refunds"]["wallet"],
        "refund_to_provider_amount": -moves["refunds"]["provider"],
        "cashback_paid_amount": by_reason.get(R.CASHBACK, 0),
        "cashback_reversed_amount": -by_reason.get(R.CASHBACK_REVERSAL, 0),
        "referral_reward_amount": by_reason.get(R.REFERRAL, 0),
        "commission_amount": by_reason.get(R.COMMISSION, 0) + by_reason.get(R.COMMISSION_REVERSAL, 0),
        "adjustment_amount": by_reason.get(R.ADJUSTMENT, 0),
        "traffic_amount": -by_reason.get(R.TRAFFIC, 0),
        "topup_amount": sum(moves["topups"].values()),
        "topup_amount_by_method": moves["topups"],
        "topups": moves["topup_count"],
        "wallet_liability_amount": wallets["liability"],
        "wallet_receivable_amount": wallets["receivable"],
        "cashback_pending_amount": pending,
        "liability_amount": wallets["liability"] + pending,
        "new_customers": Customer.objects.filter(joined_at__gte=period.start, joined_at__lt=period.end).count(),
        "buyers": sales["buyers"],
        "new_buyers": first_buyers,
        "returning_buyers": sales["buyers"] - first_buyers,
    }
    if with_reconciliation:
        from .reconcile import reconciliation_for

        report["reconciliation"] = reconciliation_for(period)
    return report


def series(period: Period, unit: str = "") -> dict:
    """Net sales, orders and new customers per day, week or month of the period (the charts)."""
    spans = buckets(period, unit)
    sold = {row["b"]: row for row in paid_orders(period).annotate(b=bucket_of("paid_at", spans))
            .values("b").annotate(net=Sum("paid_amount"), n=Count("id")).order_by("b")}
    joined = {row["b"]: row["n"] for row in Customer.objects.filter(joined_at__gte=period.start, joined_at__lt=period.end)
              .annotate(b=bucket_of("joined_at", spans)).values("b").annotate(n=Count("id")).order_by("b")}
    return {"labels": [b.label for b in spans],
            "net_amount": [as_int(sold.get(i, {}).get("net")) for i in range(len(spans))],
            "orders": [as_int(sold.get(i, {}).get("n")) for i in range(len(spans))],
            "new_customers": [joined.get(i, 0) for i in range(len(spans))]}
