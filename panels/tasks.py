"""Celery tasks of the panels app: each takes ids and calls one service. Provisioning retries
with growing waits; its last failure is handed to the admins. Names are in beat rows: never
rename them."""

import logging

from celery import shared_task
from django.conf import settings

from vpnbot.core.tasks import retry_later

from . import services
from .adapters import PanelError

log = logging.getLogger(__name__)
BACKOFF = 15  # seconds before the first retry: 15, 30, 60 … at most BACKOFF_MAX
BACKOFF_MAX = 900


def _countdown(retries: int) -> int:
    return min(BACKOFF * 2**retries, BACKOFF_MAX)


@shared_task(bind=True, ignore_result=True, acks_late=True)
def provision_account(self, account_id: int) -> None:
    """Make the account on its panel; idempotent (it looks the account up first)."""
    try:
        services.account_provision(account_id=account_id)
    except PanelError as exc:
        if exc.retry and self.request.retries < settings.PANEL_PROVISION_MAX_RETRIES:
            log.info("provisioning of account %s: %s; retrying", account_id, exc)
            retry_later(self, exc, _countdown(self.request.retries))
            return
        services.account_failed(account_id=account_id, error=str(exc))


@shared_task(bind=True, ignore_result=True, acks_late=True)
def push_account(self, account_id: int, renewal_id: int | None = None, reset_usage: bool = False) -> None:
    """Make the panel match the shop for one account (a renewal, a refund, an edit, a repair)."""
    try:
        services.account_push(account_id=account_id, renewal_id=renewal_id, reset_usage=reset_usage)
    except PanelError as exc:
        if exc.retry and self.request.retries < settings.PANEL_PROVISION_MAX_RETRIES:
            retry_later(self, exc, _countdown(self.request.retries))
            return
        services.account_push_failed(account_id=account_id, error=str(exc))


@shared_task(ignore_result=True)
def sync_panels() -> None:
    services.panels_sync_all()


@shared_task(ignore_result=True)
def expire_accounts() -> None:
    services.accounts_expire()
