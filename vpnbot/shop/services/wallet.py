"""The wallet ledger: every balance change is a WalletTransaction row, applied once per source.
Checkout, top-ups, referrals, refunds and the discounts' cashback all move money through here."""

from __future__ import annotations

from django.db import transaction

from ..models import Customer, WalletTransaction
from .errors import InsufficientBalance


def wallet_apply(*, customer_id: int, amount: int, reason: str, source: str, note: str = "",
                 allow_credit: bool = False) -> WalletTransaction | None:
    """Add a ledger row and move the balance, once per source. Returns None when this
    source was already applied. Raises InsufficientBalance rather than going below zero, or
    (allow_credit: a reseller's purchase) below minus the customer's credit limit."""
    if amount == 0:
        return None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if WalletTransaction.objects.filter(source=source).exists():
            return None
        balance = customer.balance_amount + amount
        floor = -customer.credit_limit_amount if allow_credit else 0
        if amount < 0 and balance < floor:
            raise InsufficientBalance(floor - balance)
        Customer.objects.filter(pk=customer_id).update(balance_amount=balance)
        return WalletTransaction.objects.create(customer_id=customer_id, amount=amount, balance_after=balance,
                                                reason=reason, source=source, note=note[:255])
