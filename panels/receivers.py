"""What the panels do when the shop announces a change (subscribed in apps.ready): a refund or
an operator's edit of a subscription pushes its account to the panel."""

from __future__ import annotations

from vpnbot.shop.models import Subscription

from . import services


def on_order_refunded(event) -> None:
    order_id = (event.payload or {}).get("order_id")
    subscription_id = Subscription.objects.filter(order_id=order_id).values_list("pk", flat=True).first()
    if subscription_id:
        services.account_changed(subscription_id=subscription_id)


def on_subscription_changed(event) -> None:
    subscription_id = (event.payload or {}).get("subscription_id")
    if subscription_id:
        services.account_changed(subscription_id=subscription_id)
