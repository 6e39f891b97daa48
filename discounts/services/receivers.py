"""What smart discounts do when the shop announces a change (subscribed in apps.ready): an
order paid recounts the profile and credits due cashback; a refund gives back uses and cashback."""

from __future__ import annotations

from django.utils import timezone

from ..models import CashbackTransaction
from .cashback import cashback_credit, cashback_reverse
from .loyalty import profile_recompute, profile_recompute_and_tell
from .redemption import usage_release
from .rules import enabled


def on_order_paid(event) -> None:
    if not enabled() or event.customer is None:
        return
    order_id = event.payload.get("order_id")
    profile_recompute_and_tell(customer_id=event.customer.pk, customer=event.customer)
    tx = CashbackTransaction.objects.filter(order_id=order_id).first()
    if tx is not None and tx.status == CashbackTransaction.Status.PENDING and tx.due_at <= timezone.now():
        cashback_credit(transaction_id=tx.pk)


def on_order_refunded(event) -> None:
    order_id = event.payload.get("order_id")
    usage_release(order_id=order_id)
    # order_refund may give back only part of what was paid (prorata): take back that share
    cashback_reverse(order_id=order_id, refunded_amount=event.payload.get("amount"))
    if event.customer is not None:
        profile_recompute(customer_id=event.customer.pk)
