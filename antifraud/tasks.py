"""Celery tasks of the anti-fraud app: each takes ids and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task

from vpnbot.core.tasks import retry_later
from vpnbot.transport.messages import TelegramError
from vpnbot.transport.sender import RetryLater, TelegramNetworkError

from . import services

log = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True)
def fingerprint_receipt(self, payment_id: int) -> None:
    """Hash a receipt's image and score near-duplicates (idempotent: hashed once per receipt)."""
    try:
        services.receipt_fingerprint(payment_id=payment_id)
    except (RetryLater, TelegramNetworkError) as exc:
        if self.request.retries < 3:
            retry_later(self, exc, 30 * 2**self.request.retries)
            return
        log.warning("receipt %s not fingerprinted: %s", payment_id, exc)
    except TelegramError as exc:  # Telegram's refusal (the file is gone, too large): nothing to retry
        log.info("receipt %s not fingerprinted: %s", payment_id, exc.description)


@shared_task(ignore_result=True)
def send_daily_summary() -> None:
    services.risk_summary_send()
