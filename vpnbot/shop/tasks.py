"""The shop's Celery tasks: expiring subscriptions (beat) and sending a receipt to one admin,
retried with backoff. Each takes ids and calls one service."""

import logging

from celery import shared_task

from vpnbot.core.tasks import retry_later
from vpnbot.transport.messages import ChatUnreachable, RetryLater, TelegramError

from . import services

log = logging.getLogger(__name__)

# A receipt for the admins: retried with a growing wait (10 s, 20 s, 40 s … at most 10 min,
# about half an hour in all), or after Telegram's retry_after when that is longer.
REVIEW_MAX_RETRIES = 8
REVIEW_BACKOFF = 10
REVIEW_BACKOFF_MAX = 600


@shared_task(ignore_result=True)
def expire_subscriptions() -> None:
    services.subscription_expire_due()


def _permanent(exc: TelegramError) -> bool:
    """A refusal a retry cannot change (bad request, chat not found); 429, 5xx and network
    errors (status 0) are transient."""
    return 400 <= exc.status < 500 and exc.status != 429


@shared_task(bind=True, ignore_result=True, max_retries=REVIEW_MAX_RETRIES, acks_late=True)
def send_payment_review(self, payment_id: int, chat_id: int) -> None:
    """Send one admin the receipt of a new top-up; idempotent (services.payment_review_send)."""
    try:
        services.payment_review_send(payment_id=payment_id, chat_id=chat_id)
        return
    except ChatUnreachable as exc:  # the admin blocked the bot: retrying will not reach them
        log.warning("receipt of payment %s not sent to admin %s: %s", payment_id, chat_id, exc.description)
        return
    except TelegramError as exc:
        if _permanent(exc):
            log.error("receipt of payment %s refused for admin %s: %s", payment_id, chat_id, exc.description)
            return
        if self.request.retries >= self.max_retries:
            log.error("receipt of payment %s not sent to admin %s after %s attempts: %s",
                      payment_id, chat_id, self.request.retries + 1, exc.description)
            return
        countdown = min(REVIEW_BACKOFF * 2 ** self.request.retries, REVIEW_BACKOFF_MAX)
        if isinstance(exc, RetryLater):
            countdown = max(countdown, exc.retry_after)
        log.info("receipt of payment %s for admin %s: %s; retrying in %ss", payment_id, chat_id,
                 exc.description, countdown)
        retry_later(self, exc, countdown)
