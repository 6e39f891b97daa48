"""What the payments do when the shop announces a change (subscribed in apps.ready): a card
receipt joins the one payments list, and a refunded order paid online goes back to its provider."""

from __future__ import annotations

from . import services


def on_receipt_event(event) -> None:
    receipt_id = (event.payload or {}).get("payment_id")
    if receipt_id:
        services.receipt_mirror(receipt_id=receipt_id)


def on_order_refunded(event) -> None:
    services.on_order_refunded(event)


def on_customer_banned(event) -> None:
    if event.customer is not None:
        services.payments_freeze(customer_id=event.customer.pk, why=(event.payload or {}).get("why", ""))


def on_customer_unbanned(event) -> None:
    if event.customer is not None:
        services.payments_unfreeze(customer_id=event.customer.pk)
