"""Money in and out over a period, every figure one SQL aggregate (docs/reports.md says which
rows each counts): sales from the paid orders, wallet movements from the ledger, liabilities at
the period's end."""

from __future__ import annotations

from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Max, Q, Sum
from django.utils import timezone

from discounts.models import CashbackTransaction
from vpnbot.shop.models import Customer, WalletTransaction

from .common import CARD, as_int, bucket_of, paid_orders, providers
from .periods import Period, buckets, midnight
from .rollup import Figures, buyers, kept_days, kept_until, ledger_by, period_figures

R = WalletTransaction.Reason
RESELLER_OR_OTHER = "other"


def sales_totals(figures: Figures) -> dict:
    net, orders = figures.get(("orders", ""), [0, 0])
    return {"orders": orders, "gross": figures.get(("gross", ""), [0, 0])[0],
            "discount": figures.get(("discount", ""), [0, 0])[0], "net": net}


def discounts_by_kind(figures: Figures, total: int) -> dict[str, int]:
    """The smart discounts' uses on the period's orders by kind; what the orders' discounts hold
    beyond them (a reseller's price) is "other"."""
    kinds = {key: amount for (metric, key), (amount, _n) in sorted(figures.items()) if metric == "discount_kind"}
    rest = total - sum(kinds.values())
    if rest:
        kinds[RESELLER_OR_OTHER] = rest
    return kinds


def ledger_totals(figures: Figures) -> dict:
    """The period's ledger rows summed by reason, top-ups by method and refunds by kind."""
    by_reason: dict[str, int] = {}
    topups = {method: 0 for method in [CARD, *providers()]}
    refunds = {"wallet": 0, "provider": 0, "other": 0}
    topup_count = 0
    for reason, method, refund, total, n in ledger_by(figures):
        by_reason[reason] = by_reason.get(reason, 0) + total
        if reason == R.TOPUP:
            topups[method] = topups.get(method, 0) + total
            topup_count += n
        elif reason == R.REFUND:
            refunds[refund] += total
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


def report_financial(period: Period, *, with_reconciliation: bool = True) -> dict:
    """The money report of a period (the staff API's /reports/financial/ answer)."""
    figures, live_from = period_figures(period)
    sales, moves = sales_totals(figures), ledger_totals(figures)
    by_reason = moves["by_reason"]
    all_buyers, first_buyers = buyers(period, live_from)
    wallets, pending = wallets_at(period.end), cashback_pending_at(period.end)
    report = {
        "from": period.first_day.isoformat(), "to": period.last_day.isoformat(), "calendar": period.calendar,
        "label": period.label,
        "orders": sales["orders"],
        "gross_amount": sales["gross"],
        "discount_amount": sales["discount"],
        "discount_amount_by_kind": discounts_by_kind(figures, sales["discount"]),
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
        "new_customers": figures.get(("joined", ""), [0, 0])[1],
        "buyers": all_buyers,
        "new_buyers": first_buyers,
        "returning_buyers": all_buyers - first_buyers,
    }
    if with_reconciliation:
        from .reconcile import reconciliation_for

        report["reconciliation"] = reconciliation_for(period, ledger_rows=sum(n for *_, n in ledger_by(figures)))
    return report


def series(period: Period, unit: str = "") -> dict:
    """Net sales, orders and new customers per day, week or month of the period (the charts):
    the kept days from their rolled-up figures, the rest live."""
    spans = buckets(period, unit)
    net, orders, joined = [0] * len(spans), [0] * len(spans), [0] * len(spans)
    stop = kept_until(period)
    i = 0
    for day, figures in sorted(kept_days(period.first_day, stop, ("orders", "joined")).items()):
        while midnight(day) >= spans[i].end:
            i += 1
        net[i] += figures.get(("orders", ""), [0, 0])[0]
        orders[i] += figures.get(("orders", ""), [0, 0])[1]
        joined[i] += figures.get(("joined", ""), [0, 0])[1]
    if stop <= period.last_day:
        live = Period(midnight(stop), period.end, stop, period.last_day, period.calendar)
        for row in (paid_orders(live).annotate(b=bucket_of("paid_at", spans)).values("b")
                    .annotate(net=Sum("paid_amount"), n=Count("id")).order_by("b")):
            net[row["b"]] += as_int(row["net"])
            orders[row["b"]] += row["n"]
        for row in (Customer.objects.filter(joined_at__gte=live.start, joined_at__lt=live.end)
                    .annotate(b=bucket_of("joined_at", spans)).values("b").annotate(n=Count("id")).order_by("b")):
            joined[row["b"]] += row["n"]
    return {"labels": [b.label for b in spans], "net_amount": net, "orders": orders, "new_customers": joined}
