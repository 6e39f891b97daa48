"""Celery tasks of the payments app: each takes ids and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from vpnbot.core.tasks import retry_later

from . import services

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def reconcile_payments() -> None:
    services.payments_reconcile()


@shared_task(ignore_result=True)
def send_daily_summary() -> None:
    services.payments_summary_send()


@shared_task(bind=True, ignore_result=True, acks_late=True)
def refund_to_provider(self, payment_id: int, by: str = "") -> None:
    """Give an online payment back at its provider after its order was refunded (idempotent:
    a refunded payment is left alone, the provider's "already refunded" counts as done)."""
    try:
        services.payment_refund_to_provider(payment_id=payment_id, by=by, reason="order refunded")
    except services.PaymentsError as exc:
        if exc.retry and self.request.retries < settings.PAYMENTS_MAX_RETRIES:
            retry_later(self, exc, 30 * 2**self.request.retries)
            return
        services.refund_failed(payment_id=payment_id, error=str(exc))
    except Exception as exc:  # not the provider's answer (the database, a bug): tried again, then told
        log.exception("payment %s: the refund to the provider failed", payment_id)
        if self.request.retries < settings.PAYMENTS_MAX_RETRIES:
            retry_later(self, exc, 30 * 2**self.request.retries)
            return
        # the exception's text may carry addresses or keys: only its kind goes to the note and the admins
        services.refund_failed(payment_id=payment_id, error=f"{type(exc).__name__} (see the log)")
