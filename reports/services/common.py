"""What every report shares: the rows a report counts (paid orders, ledger rows, their
methods) and the bucketing of a date column into a period's days, weeks or months, all as SQL
expressions (never a loop over rows)."""

from __future__ import annotations

from django.db.models import Case, CharField, IntegerField, Q, Value, When

from payments.models import Payment as OnlinePayment
from vpnbot.shop.models import Order, WalletTransaction

from .periods import Bucket, Period

SOLD = (Order.Status.PAID, Order.Status.REFUNDED)  # an order that was paid (later refunded or not)
CARD = "card"


def paid_orders(period: Period | None = None):
    """Orders paid in the period (by paid_at), refunded since or not."""
    orders = Order.objects.filter(status__in=SOLD)
    if period is not None:
        orders = orders.filter(paid_at__gte=period.start, paid_at__lt=period.end)
    return orders


def ledger(period: Period | None = None):
    rows = WalletTransaction.objects.all()
    if period is not None:
        rows = rows.filter(created_at__gte=period.start, created_at__lt=period.end)
    return rows


def providers() -> list[str]:
    return [value for value in OnlinePayment.Provider.values if value != CARD]


def topup_method():
    """A top-up ledger row's payment method, from its source: payment:ID is a card receipt,
    pay:PROVIDER:ID an online payment; anything else is "other" (reconciliation lists it)."""
    whens = [When(source__startswith="payment:", then=Value(CARD))]
    whens += [When(source__startswith=f"pay:{p}:", then=Value(p)) for p in providers()]
    return Case(*whens, default=Value("other"), output_field=CharField())


def refund_kind():
    """refund:ORDER gives an order's money back to the wallet; pay-refund:PAYMENT takes it from
    the wallet back to the provider (money leaving the shop)."""
    return Case(When(source__startswith="refund:", then=Value("wallet")),
                When(source__startswith="pay-refund:", then=Value("provider")),
                default=Value("other"), output_field=CharField())


def bucket_of(field: str, spans: list[Bucket]):
    """The index of the bucket a row's `field` falls in (NULL outside them all)."""
    return Case(*[When(Q(**{f"{field}__gte": b.start, f"{field}__lt": b.end}), then=Value(i))
                  for i, b in enumerate(spans)], default=None, output_field=IntegerField())


def as_int(value) -> int:
    return int(value or 0)
