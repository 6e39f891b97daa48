"""Celery tasks of the resellers app: each takes ids and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task

from vpnbot.core.tasks import retry_later
from vpnbot.transport.messages import ChatUnreachable, TelegramError

from . import services

log = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True, max_retries=5, acks_late=True)
def send_batch_file(self, batch_id: int) -> None:
    """The configs file of a bulk purchase to its reseller, once (the service claims it)."""
    try:
        services.batch_send_file(batch_id=batch_id)
    except ChatUnreachable as exc:
        log.warning("configs file of purchase %s not sent: %s", batch_id, exc.description)
    except TelegramError as exc:
        if self.request.retries >= self.max_retries:
            log.error("configs file of purchase %s not sent after %s attempts: %s", batch_id,
                      self.request.retries + 1, exc.description)
            return
        retry_later(self, exc, min(30 * 2 ** self.request.retries, 600))
