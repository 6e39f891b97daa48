"""What the resellers app does when the shop announces a change (subscribed in apps.ready)."""

from __future__ import annotations

from . import services, tasks


def on_order_refunded(event) -> None:
    """A sub-reseller's order refunded: the parent's commission goes back in the share refunded."""
    services.commission_reverse(order_id=event.payload.get("order_id"), refunded_amount=event.payload.get("amount"))


def on_config_delivered(event) -> None:
    """The last config of a bulk purchase arrived: its file goes to the reseller, once."""
    subscription_id = event.payload.get("subscription_id")
    batch_id = services.batch_complete_for(subscription_id)
    if batch_id is not None:
        tasks.send_batch_file.delay_on_commit(batch_id)
