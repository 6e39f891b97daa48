"""The reconciliation: the ledger against the balances, and each money row against the thing
that caused it. Every check is one SQL query that returns the offending rows (at most LIMIT of
them, with their count); a report that does not reconcile lists them.

The checks (docs/reports.md explains each):
- balances: the sum of the ledger equals the sum of the wallet balances; and per customer, the
  balance equals their own ledger's sum (a balance edited by hand shows here);
- orders: every paid order (paid or later refunded) with something to pay has exactly its
  debit order:ID of minus what it paid, and every purchase row belongs to such an order;
- receipts: every approved receipt has its credit payment:ID of its amount, and every such
  credit belongs to an approved receipt;
- online payments: every paid (or since refunded) payment has its credit pay:PROVIDER:ID, and
  every such credit belongs to one;
- top-ups: no top-up row with a source of neither shape (a credit with nothing behind it);
- cashback: every credited cashback has its row, every cashback row a credited cashback;
- referrals: every referral reward has its row on the inviter's wallet, every such row a reward;
- refunds: every refunded order's refund:ID row equals what the order says was refunded, and
  every refund:ID row belongs to an order refunded by that amount;
- rolled-up days (the full run only): each kept day's ledger rows and total equal the ledger's.
Rows are matched on the ledger's unique source, so a double credit shows as a second row whose
source matches nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connections, router
from django.db.models import BigIntegerField, Case, CharField, Exists, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, Collate, Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from discounts.models import CashbackTransaction
from payments.models import Payment as OnlinePayment
from vpnbot.shop.models import Customer, Order, Payment, ReferralReward, WalletTransaction

from ..models import ReconciliationRun, RollupDay
from .common import SOLD, as_int, ledger
from .periods import Period
from .rollup import rollup_problems

LIMIT = 50
R = WalletTransaction.Reason


@dataclass
class Problem:
    check: str
    message: str
    count: int
    rows: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"check": self.check, "message": self.message, "count": self.count, "rows": self.rows}


@dataclass
class Reconciliation:
    ok: bool
    problems: list[Problem]
    ledger_total_amount: int
    balance_total_amount: int
    scope: str  # "all" or the period's days
    seconds: float = 0.0

    checked_at: datetime | None = None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "scope": self.scope, "ledger_total_amount": self.ledger_total_amount,
                "balance_total_amount": self.balance_total_amount, "seconds": round(self.seconds, 3),
                "checked_at": (self.checked_at or timezone.now()).isoformat(),
                "problems": [p.as_dict() for p in self.problems]}


def _source(prefix: str, ref: str = "pk"):
    return _like_source(Concat(Value(prefix), Cast(OuterRef(ref), CharField()), output_field=CharField()))


_collation: dict[str, str] = {}


def _like_source(expression):
    """A built string compared with the ledger's source: on MySQL/MariaDB in the column's own
    collation (a cast takes the connection's, and the two may not be compared)."""
    connection = connections[router.db_for_read(WalletTransaction)]
    if connection.vendor != "mysql":
        return expression
    if connection.alias not in _collation:
        with connection.cursor() as cursor:
            cursor.execute("SELECT collation_name FROM information_schema.columns WHERE table_schema = DATABASE() "
                           "AND table_name = %s AND column_name = 'source'", [WalletTransaction._meta.db_table])
            row = cursor.fetchone()
        _collation[connection.alias] = row[0] if row and row[0] else ""
    return Collate(expression, _collation[connection.alias]) if _collation[connection.alias] else expression


def _found(check: str, message: str, queryset, fields: list[str]) -> Problem | None:
    count = queryset.count()
    if not count:
        return None
    return Problem(check, message, count, [_jsonable(row) for row in queryset.order_by("pk").values(*fields)[:LIMIT]])


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def _in(queryset, period: Period | None, column: str):
    if period is None:
        return queryset
    return queryset.filter(**{f"{column}__gte": period.start, f"{column}__lt": period.end})


def _balances(period: Period | None) -> list[Problem]:
    found = []
    customers = Customer.objects.all()
    if period is not None:  # the customers whose wallet moved in the period
        customers = customers.filter(Exists(_in(WalletTransaction.objects.filter(customer_id=OuterRef("pk")),
                                                period, "created_at")))
    own = (WalletTransaction.objects.filter(customer_id=OuterRef("pk")).order_by().values("customer_id")
           .annotate(total=Sum("amount")).values("total"))
    off = (customers.annotate(ledger_sum=Coalesce(Subquery(own, output_field=BigIntegerField()), Value(0)))
           .exclude(balance_amount=F("ledger_sum")))
    problem = _found("balance", _("wallet balances that differ from the sum of their ledger"), off,
                     ["pk", "telegram_id", "balance_amount", "ledger_sum"])
    if problem:
        found.append(problem)
    return found


def _orders(period: Period | None) -> list[Problem]:
    found = []
    # negated on the ledger's side: the order's amounts are unsigned on MySQL/MariaDB
    debit = (WalletTransaction.objects.filter(source=_source("order:"), customer_id=OuterRef("customer_id"))
             .annotate(debit=-F("amount")).filter(debit=OuterRef("paid_amount")))
    missing = _in(Order.objects.filter(status__in=SOLD, paid_amount__gt=0), period, "paid_at").filter(~Exists(debit))
    found.append(_found("order_debit", _("paid orders without their wallet debit (or with another amount)"), missing,
                        ["pk", "customer_id", "paid_amount", "paid_at"]))
    order = Order.objects.filter(status__in=SOLD, customer_id=OuterRef("customer_id"), paid_amount=-OuterRef("amount"),
                                 pk=Cast(OuterRef("order_ref"), BigIntegerField()))
    rows = (_in(WalletTransaction.objects.filter(reason=R.PURCHASE), period, "created_at")
            .annotate(order_ref=_tail("order:")))
    orphans = rows.filter(Q(order_ref__isnull=True) | ~Exists(order))
    found.append(_found("purchase_orphan", _("purchase rows in the ledger without their paid order"), orphans,
                        ["pk", "customer_id", "amount", "source", "created_at"]))
    refunded = WalletTransaction.objects.filter(source=_source("refund:"), amount=OuterRef("refunded_amount"))
    wrong = (_in(Order.objects.filter(refunded_amount__gt=0), period, "refunded_at").filter(~Exists(refunded)))
    found.append(_found("refund", _("refunded orders whose refund row is missing or differs"), wrong,
                        ["pk", "customer_id", "refunded_amount", "refunded_at"]))
    given = Order.objects.filter(pk=OuterRef("ref"), refunded_amount=OuterRef("amount"), customer_id=OuterRef("customer_id"))
    rows = (_in(WalletTransaction.objects.filter(reason=R.REFUND, source__startswith="refund:"), period, "created_at")
            .annotate(ref=_tail("refund:")))
    found.append(_found("refund_orphan", _("refund rows without a refunded order of that amount"),
                        rows.filter(Q(ref__isnull=True) | ~Exists(given)),
                        ["pk", "customer_id", "amount", "source", "created_at"]))
    return [p for p in found if p]


def _tail(prefix: str):
    """The number after `prefix` in a ledger row's source, or NULL when the rest is not digits."""
    return Case(When(source__regex=rf"^{prefix}[0-9]{{1,18}}$",
                     then=Cast(Substr("source", len(prefix) + 1), BigIntegerField())),
                default=None, output_field=BigIntegerField())


def _topups(period: Period | None) -> list[Problem]:
    found = []
    credit = WalletTransaction.objects.filter(source=_source("payment:"), amount=OuterRef("amount"),
                                              customer_id=OuterRef("customer_id"), reason=R.TOPUP)
    receipts = _in(Payment.objects.filter(status=Payment.Status.APPROVED), period, "reviewed_at").filter(~Exists(credit))
    found.append(_found("receipt_credit", _("approved receipts without their wallet credit"), receipts,
                        ["pk", "customer_id", "amount", "reviewed_at"]))
    approved = Payment.objects.filter(status=Payment.Status.APPROVED, pk=OuterRef("ref"), amount=OuterRef("amount"),
                                      customer_id=OuterRef("customer_id"))
    topups = _in(WalletTransaction.objects.filter(reason=R.TOPUP), period, "created_at")
    card = topups.filter(source__startswith="payment:").annotate(ref=_tail("payment:"))
    found.append(_found("receipt_orphan", _("receipt credits without an approved receipt of that amount"),
                        card.filter(Q(ref__isnull=True) | ~Exists(approved)),
                        ["pk", "customer_id", "amount", "source", "created_at"]))
    online_credit = WalletTransaction.objects.filter(
        source=_like_source(Concat(Value("pay:"), OuterRef("provider"), Value(":"), Cast(OuterRef("pk"), CharField()),
                                   output_field=CharField())),
        amount=OuterRef("amount"), customer_id=OuterRef("customer_id"), reason=R.TOPUP)
    paid = (_in(OnlinePayment.objects.filter(status__in=(OnlinePayment.Status.PAID, OnlinePayment.Status.REFUNDED))
                .exclude(provider="card"), period, "paid_at").filter(~Exists(online_credit)))
    found.append(_found("online_credit", _("paid online payments without their wallet credit"), paid,
                        ["pk", "customer_id", "provider", "amount", "paid_at"]))
    shapes = Q(source__startswith="payment:")
    provider_of, ref_of = [], []
    for provider in [p for p in OnlinePayment.Provider.values if p != "card"]:
        prefix = f"pay:{provider}:"
        shapes |= Q(source__startswith=prefix)
        provider_of.append(When(source__startswith=prefix, then=Value(provider)))
        ref_of.append(When(source__regex=rf"^{prefix}[0-9]{{1,18}}$",
                           then=Cast(Substr("source", len(prefix) + 1), BigIntegerField())))
    paid_one = OnlinePayment.objects.filter(pk=OuterRef("ref"), provider=OuterRef("provider"), amount=OuterRef("amount"),
                                            customer_id=OuterRef("customer_id"),
                                            status__in=(OnlinePayment.Status.PAID, OnlinePayment.Status.REFUNDED))
    online = (topups.filter(source__startswith="pay:")
              .annotate(provider=Case(*provider_of, default=None, output_field=CharField()),
                        ref=Case(*ref_of, default=None, output_field=BigIntegerField()))
              .filter(provider__isnull=False))
    found.append(_found("online_orphan", _("online payment credits without a paid payment of that amount"),
                        online.filter(Q(ref__isnull=True) | ~Exists(paid_one)),
                        ["pk", "customer_id", "amount", "source", "created_at"]))
    found.append(_found("topup_unknown", _("top-up rows that no payment or receipt explains"), topups.exclude(shapes),
                        ["pk", "customer_id", "amount", "source", "created_at"]))
    return [p for p in found if p]


def _cashback(period: Period | None) -> list[Problem]:
    found = []
    row = WalletTransaction.objects.filter(source=_source("cashback:", "order_id"), amount=OuterRef("amount"),
                                           reason=R.CASHBACK)
    credited = (_in(CashbackTransaction.objects.exclude(credited_at=None), period, "credited_at")
                .filter(status__in=(CashbackTransaction.Status.CREDITED, CashbackTransaction.Status.REVERSED))
                .filter(~Exists(row)))
    found.append(_found("cashback_credit", _("credited cashback without its wallet row"), credited,
                        ["pk", "customer_id", "order_id", "amount", "credited_at"]))
    owed = CashbackTransaction.objects.filter(order_id=OuterRef("ref"), amount=OuterRef("amount"),
                                              customer_id=OuterRef("customer_id")).exclude(credited_at=None)
    rows = _in(WalletTransaction.objects.filter(reason=R.CASHBACK), period, "created_at").annotate(ref=_tail("cashback:"))
    found.append(_found("cashback_orphan", _("cashback rows without a credited cashback of that amount"),
                        rows.filter(Q(ref__isnull=True) | ~Exists(owed)),
                        ["pk", "customer_id", "amount", "source", "created_at"]))
    return [p for p in found if p]


def _referrals(period: Period | None) -> list[Problem]:
    """Every referral reward has its referral:INVITED row of its amount on the inviter's wallet,
    and every such row its reward."""
    found = []
    row = WalletTransaction.objects.filter(source=_source("referral:", "referred_id"), amount=OuterRef("amount"),
                                           customer_id=OuterRef("referrer_id"), reason=R.REFERRAL)
    missing = _in(ReferralReward.objects.all(), period, "created_at").filter(~Exists(row))
    found.append(_found("referral_credit", _("referral rewards without their wallet row"), missing,
                        ["pk", "referrer_id", "referred_id", "amount", "created_at"]))
    reward = ReferralReward.objects.filter(referred_id=OuterRef("ref"), amount=OuterRef("amount"),
                                           referrer_id=OuterRef("customer_id"))
    rows = _in(WalletTransaction.objects.filter(reason=R.REFERRAL), period, "created_at").annotate(ref=_tail("referral:"))
    found.append(_found("referral_orphan", _("referral rows without a reward of that amount"),
                        rows.filter(Q(ref__isnull=True) | ~Exists(reward)),
                        ["pk", "customer_id", "amount", "source", "created_at"]))
    return [p for p in found if p]


def _kept_days() -> list[Problem]:
    """The rolled-up days (rollup.py) whose ledger rows or total no longer match the ledger: the
    reports would read them wrong until they are computed again."""
    days = rollup_problems()
    if not days:
        return []
    return [Problem("rollup", _("rolled-up days that differ from the ledger (manage.py reports_rollup --rebuild)"),
                    len(days), days[:LIMIT])]


def reconcile(period: Period | None = None) -> Reconciliation:
    """Run every check, on everything (period None: the nightly run and `manage.py reconcile`)
    or on the rows of one period (the financial report; the totals are always the whole)."""
    started = time.perf_counter()
    ledger_total = as_int(WalletTransaction.objects.aggregate(t=Sum("amount"))["t"])
    balance_total = as_int(Customer.objects.aggregate(t=Sum("balance_amount"))["t"])
    problems: list[Problem] = []
    if ledger_total != balance_total:
        problems.append(Problem("totals", _("the ledger sums to %(ledger)s but the balances to %(balances)s") % {
            "ledger": f"{ledger_total:,}", "balances": f"{balance_total:,}"}, 1,
            [{"ledger_total_amount": ledger_total, "balance_total_amount": balance_total}]))
    for check in (_balances, _orders, _topups, _cashback, _referrals):
        problems += check(period)
    if period is None:
        problems += _kept_days()
    scope = "all" if period is None else f"{period.first_day.isoformat()}..{period.last_day.isoformat()}"
    return Reconciliation(ok=not problems, problems=problems, ledger_total_amount=ledger_total,
                          balance_total_amount=balance_total, scope=scope, seconds=time.perf_counter() - started)


def _latest_run() -> dict | None:
    run = ReconciliationRun.objects.order_by("-started_at").first()
    if run is None:
        return None
    return {"ok": run.ok, "scope": "all", "ledger_total_amount": run.ledger_total_amount,
            "balance_total_amount": run.balance_total_amount, "seconds": round(run.seconds, 3),
            "checked_at": run.started_at.isoformat(), "problems": run.problems}


def reconciliation_for(period: Period | None, *, ledger_rows: int | None = None) -> dict:
    """The reconciliation a report of the period (None: everything, the API's
    /reports/reconciliation/) carries: its own rows checked now, unless it holds more ledger rows
    than REPORTS_LIVE_RECONCILE_ROWS (the checks read every one of them: minutes on a big shop),
    then the latest full run's verdict (nightly or `manage.py reconcile`), with the time it was
    checked; live when there is none yet. `ledger_rows`: the period's count when the caller has
    it (the report's figures)."""
    limit = settings.REPORTS_LIVE_RECONCILE_ROWS
    if ledger_rows is None:
        if period is None:  # the kept days say how big the ledger is without counting it
            kept = RollupDay.objects.filter(zone=settings.TIME_ZONE).aggregate(n=Sum("ledger_rows"))["n"] or 0
            ledger_rows = kept if kept > limit else ledger().count()
        else:
            ledger_rows = ledger(period).count()
    if ledger_rows > limit:
        latest = _latest_run()
        if latest is not None:
            return latest
    return reconcile(period).as_dict()
