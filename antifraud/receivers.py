"""What the anti-fraud does when the shop announces a change (subscribed in apps.ready)."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.db import transaction


def on_topup_submitted(event) -> None:
    """A receipt to fingerprint once it is committed (the image is fetched from Telegram)."""
    payment_id = (event.payload or {}).get("payment_id")
    if payment_id and settings.ENABLE_ANTIFRAUD:
        transaction.on_commit(partial(_queue_fingerprint, payment_id))


def _queue_fingerprint(payment_id: int) -> None:
    from . import tasks

    tasks.fingerprint_receipt.delay(payment_id)
