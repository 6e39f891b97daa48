"""Cashback after payment: crediting it to the wallet on its day (exactly once), and taking
back the refunded share, never driving the balance below zero."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop import messaging
from vpnbot.shop.formatting import money
from vpnbot.shop.models import Customer, Order
from vpnbot.shop.services import wallet_apply

from ..models import CashbackTransaction
from .loyalty import profile_recompute


def cashback_credit(*, transaction_id: int) -> bool:
    """Credit one pending cashback to the wallet, exactly once (True if this call did it)."""
    with transaction.atomic():
        updated = CashbackTransaction.objects.filter(pk=transaction_id, status=CashbackTransaction.Status.PENDING).update(
            status=CashbackTransaction.Status.CREDITED, credited_at=timezone.now())
        if not updated:
            return False
        tx = CashbackTransaction.objects.select_related("customer").get(pk=transaction_id)
        wallet_apply(customer_id=tx.customer_id, amount=tx.amount, reason="cashback", source=f"cashback:{tx.order_id}",
                     note=f"order #{tx.order_id}")
        profile_recompute(customer_id=tx.customer_id)
        amount, order_id = tx.amount, tx.order_id
        messaging.notify_customer(
            tx.customer, kind="cashback", dedup_key=f"cashback:{order_id}",
            context={"amount": amount, "order_id": order_id},
            text=lambda: _("💸 Cashback: %(amount)s for order #%(order)s was added to your wallet.")
            % {"amount": money(amount), "order": order_id})
    return True


def cashback_credit_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Credit every pending cashback whose day has come (the beat job); safe to overlap."""
    now = now or timezone.now()
    ids = list(CashbackTransaction.objects.filter(status=CashbackTransaction.Status.PENDING, due_at__lte=now)
               .order_by("due_at").values_list("pk", flat=True)[:limit])
    return sum(1 for pk in ids if cashback_credit(transaction_id=pk))


def cashback_clawback(amount: int, *, refunded: int | None, paid: int) -> int:
    """The part of a cashback of `amount` that a refund of `refunded` out of `paid` takes back:
    the same share, rounded up (in the shop's favour, as discounts and cashback are rounded
    down); all of it for a full refund or when the share is unknown."""
    if refunded is None or paid <= 0 or refunded >= paid:
        return amount
    return min(amount, -(-amount * max(0, refunded) // paid))


def cashback_reverse(*, order_id: int, refunded_amount: int | None = None) -> CashbackTransaction | None:
    """Undo the cashback of a refunded order for the share refunded (`refunded_amount` out of
    the order's paid amount; None = all of it). A pending cashback shrinks by that share (it
    is cancelled when nothing is left); a credited one is taken back from the wallet as far as
    the balance allows (never below zero, nothing from a wallet already below it: a reseller's
    credit), the rest is recorded as unrecovered. Never more than
    the cashback still held (amount - reversed - unrecovered) is taken back, so a repeated
    call takes nothing twice."""
    with transaction.atomic():
        tx = CashbackTransaction.objects.select_for_update().filter(order_id=order_id).first()
        if tx is None:
            return None
        paid = Order.objects.filter(pk=order_id).values_list("paid_amount", flat=True).first() or 0
        claw = cashback_clawback(tx.amount, refunded=refunded_amount, paid=paid)
        now = timezone.now()
        if tx.status == CashbackTransaction.Status.PENDING:
            if claw >= tx.amount:
                CashbackTransaction.objects.filter(pk=tx.pk).update(status=CashbackTransaction.Status.CANCELLED,
                                                                    reversed_at=now)
            elif claw > 0:  # the rest is still credited on its day
                CashbackTransaction.objects.filter(pk=tx.pk).update(amount=tx.amount - claw, reversed_at=now)
        elif tx.status in (CashbackTransaction.Status.CREDITED, CashbackTransaction.Status.REVERSED):
            held = tx.amount - tx.reversed_amount - tx.unrecovered_amount
            claw = min(claw, max(0, held))
            if claw > 0:
                customer = Customer.objects.select_for_update().get(pk=tx.customer_id)
                take = max(0, min(claw, customer.balance_amount))  # a balance below zero (credit) gives nothing
                # once per source: the first reversal keeps the plain source, a later one (a
                # second partial refund) is told apart by what had been clawed back before it
                source = f"cashback_reversal:{order_id}"
                if tx.reversed_amount or tx.unrecovered_amount:
                    source += f":{tx.reversed_amount + tx.unrecovered_amount}"
                if take and wallet_apply(customer_id=customer.pk, amount=-take, reason="cashback_reversal",
                                         source=source, note=f"order #{order_id} refunded") is None:
                    take = claw = 0  # this very reversal was already booked
                if claw:
                    CashbackTransaction.objects.filter(pk=tx.pk).update(
                        status=CashbackTransaction.Status.REVERSED, reversed_amount=F("reversed_amount") + take,
                        unrecovered_amount=F("unrecovered_amount") + claw - take, reversed_at=now)
        tx.refresh_from_db()
        return tx
