"""Expiry, enforced by the shop (a panel's own enforcement is known to miss): an account whose
time is over is disabled on its panel, and deleted PANEL_DELETE_AFTER_DAYS later if set."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..adapters import PanelError, adapter_for
from ..models import PanelAccount
from .accounts import _store, spec_for

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class ExpiryResult:
    disabled: int = 0
    extended: int = 0  # renewed meanwhile: only the stored expiry moved
    deleted: int = 0
    failed: list[str] = field(default_factory=list)


def accounts_expire(*, now: datetime | None = None) -> ExpiryResult:
    """Disable every active account whose expiry has passed (one adapter per panel, each
    account on its own: one failure does not stop the rest; the next run tries it again)."""
    now = now or timezone.now()
    result = ExpiryResult()
    due = list(PanelAccount.objects.select_related("panel", "subscription__customer", "subscription__plan")
               .filter(status=PanelAccount.Status.ACTIVE).filter(Q(expires_at__lte=now) | Q(expires_at__isnull=True))
               .order_by("panel_id", "pk")[:BATCH])
    by_panel: dict[int, list[PanelAccount]] = {}
    for account in due:
        by_panel.setdefault(account.panel_id, []).append(account)
    for accounts in by_panel.values():
        with adapter_for(accounts[0].panel) as adapter:
            for account in accounts:
                spec = spec_for(account, now=now)
                if spec.enabled:  # renewed since: remember the new expiry
                    PanelAccount.objects.filter(pk=account.pk).update(expires_at=spec.expires_at)
                    result.extended += 1
                    continue
                try:
                    remote = adapter.update(spec)
                except PanelError as exc:
                    PanelAccount.objects.filter(pk=account.pk).update(last_error=str(exc)[:1000])
                    result.failed.append(f"{account.name}: {exc}")
                    continue
                _store(account, remote, spec, status=PanelAccount.Status.DISABLED)
                result.disabled += 1
    if settings.PANEL_DELETE_AFTER_DAYS:
        result.deleted = _delete_old(now - timedelta(days=settings.PANEL_DELETE_AFTER_DAYS), result)
    if result.failed:
        log.warning("expiry: %s account(s) not disabled yet: %s", len(result.failed), "; ".join(result.failed[:5]))
    return result


def _delete_old(before: datetime, result: ExpiryResult) -> int:
    old = list(PanelAccount.objects.select_related("panel").filter(status=PanelAccount.Status.DISABLED,
                                                                   expires_at__lte=before).order_by("panel_id", "pk")[:BATCH])
    deleted = 0
    for _panel_id, group in groupby(old, key=lambda a: a.panel_id):
        accounts = list(group)
        with adapter_for(accounts[0].panel) as adapter:
            for account in accounts:
                try:
                    adapter.delete(account.name)
                except PanelError as exc:
                    result.failed.append(f"{account.name}: {exc}")
                    continue
                PanelAccount.objects.filter(pk=account.pk, status=PanelAccount.Status.DISABLED).update(
                    status=PanelAccount.Status.DELETED, used_bytes=0)
                deleted += 1
    return deleted
