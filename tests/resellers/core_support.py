"""Helpers shared by the resellers' core tests (test_pricing, test_buying, test_commissions, …):
a reseller made through the services, a wallet funded through the ledger, a purchase."""

from __future__ import annotations

import itertools

from django.db.models import Sum

from resellers import services
from tests.factories import CustomerFactory
from vpnbot.shop.models import Customer, WalletTransaction
from vpnbot.shop.services import wallet_apply

_keys = itertools.count(1)


def ledger_sum(customer) -> int:
    """The sum of the customer's ledger rows (the balance must equal it)."""
    return WalletTransaction.objects.filter(customer_id=getattr(customer, "pk", customer)).aggregate(
        s=Sum("amount"))["s"] or 0


def balance(customer) -> int:
    return Customer.objects.values_list("balance_amount", flat=True).get(pk=getattr(customer, "pk", customer))


def fund(customer, amount: int) -> None:
    wallet_apply(customer_id=getattr(customer, "pk", customer), amount=amount, reason="topup",
                 source=f"test-topup:{next(_keys)}")


def make_reseller(*, balance_amount: int = 0, credit: int = 0, parent=None, customer=None, **fields):
    """A reseller promoted by the service (a sub-reseller when parent is given), with a funded wallet."""
    customer = customer or CustomerFactory(language="en")
    if parent is not None:
        reseller = services.sub_reseller_invite(parent_id=parent.pk, customer_id=customer.pk,
                                                markup_bp=fields.pop("markup_bp", 0))
        if fields or credit:
            reseller = services.reseller_update(reseller_id=reseller.pk, by="test", credit_limit_amount=credit,
                                                **fields)
    else:
        reseller = services.reseller_promote(customer_id=customer.pk, by="test", credit_limit_amount=credit, **fields)
    if balance_amount:
        fund(customer, balance_amount)
    reseller.refresh_from_db()
    return reseller


def buy(reseller, plan, quantity: int = 1, *, key: str | None = None, **kwargs):
    return services.reseller_buy(reseller_id=reseller.pk, plan_id=plan.pk, quantity=quantity,
                                 idempotency_key=key or f"key-{next(_keys)}", **kwargs)
