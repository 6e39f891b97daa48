"""Commissions taken back when a sub-reseller's order is refunded."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop.models import Customer, Order, WalletTransaction
from vpnbot.shop.services import wallet_apply

from ..models import Commission


def commission_reverse(*, order_id: int, refunded_amount: int | None = None) -> Commission | None:
    """Take back the parent's commission on a refunded order, in the share refunded
    (refunded_amount of the order's paid amount; None = all). Taken from the parent's wallet as
    far as their balance and credit limit allow; the rest is recorded as not recovered. A
    repeated call takes nothing twice: what is taken back is the share of the order refunded so
    far (the order's refunded amount, cumulative) less what was taken back (or found not
    recoverable) before."""
    with transaction.atomic():
        commission = Commission.objects.select_for_update().filter(order_id=order_id).first()
        if commission is None:
            return None
        paid, refunded_so_far = Order.objects.filter(pk=order_id).values_list("paid_amount", "refunded_amount").first() \
            or (0, 0)
        done = commission.reversed_amount + commission.unrecovered_amount
        held = commission.amount - done
        if refunded_amount is None or paid <= 0:
            claw = held
        else:
            refunded = min(max(refunded_amount, refunded_so_far or 0), paid)
            claw = min(held, commission.amount * refunded // paid - done)
        if claw <= 0:
            return commission
        parent = Customer.objects.select_for_update().get(pk=commission.reseller.customer_id)
        take = max(min(claw, parent.balance_amount + parent.credit_limit_amount), 0)
        source = f"commission_reversal:{order_id}" + (f":{done}" if done else "")
        if take:
            wallet_apply(customer_id=parent.pk, amount=-take, reason=WalletTransaction.Reason.COMMISSION_REVERSAL,
                         source=source, note=_("Order #%(id)s was refunded") % {"id": order_id}, allow_credit=True)
        Commission.objects.filter(pk=commission.pk).update(
            reversed_amount=F("reversed_amount") + take, unrecovered_amount=F("unrecovered_amount") + (claw - take),
            reversed_at=timezone.now())
        commission.refresh_from_db()
    return commission
