"""Usage sync: every account of a panel read with its paged list calls (never one call per
account), usage and status stored, what disagrees with the shop recorded as drift for an
operator to repair, and traffic warnings sent once per threshold and period."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop import messaging

from ..adapters import Account, PanelError, adapter_for
from ..models import Panel, PanelAccount
from .accounts import queue_push
from .errors import PanelsError

log = logging.getLogger(__name__)
PAGE = 500
EXPIRY_SLACK_SECONDS = 120  # a panel rounds expiries; more than this apart is drift
TRACKED = (PanelAccount.Status.ACTIVE, PanelAccount.Status.DISABLED)


@dataclass
class SyncResult:
    panel: str
    seen: int = 0
    updated: int = 0
    missing: int = 0
    drifted: int = 0
    warned: int = 0
    error: str = ""
    drift_examples: list[str] = field(default_factory=list)


def panel_sync(*, panel_id: int, now: datetime | None = None) -> SyncResult:
    """Read the panel's accounts page by page and bring the shop's copy up to date."""
    now = now or timezone.now()
    panel = Panel.objects.get(pk=panel_id)
    result = SyncResult(panel=panel.name)
    if panel.kind == Panel.Kind.MANUAL or panel.status == Panel.Status.DISABLED:
        return result
    page: list[Account] = []
    try:
        with adapter_for(panel) as adapter:
            for remote in adapter.accounts():
                page.append(remote)
                if len(page) >= PAGE:
                    _apply(panel, page, now, result)
                    page = []
        _apply(panel, page, now, result)
    except PanelError as exc:
        result.error = str(exc)
        Panel.objects.filter(pk=panel.pk).update(last_error=result.error[:1000])
        log.warning("sync of panel %s stopped: %s", panel.name, exc)
        return result
    result.missing = _missing(panel, now, result)
    Panel.objects.filter(pk=panel.pk).update(synced_at=now, last_error="")
    return result


def _apply(panel: Panel, remotes: list[Account], now: datetime, result: SyncResult) -> None:
    if not remotes:
        return
    result.seen += len(remotes)
    by_name = {r.name.lower(): r for r in remotes}
    ours = list(PanelAccount.objects.select_related("subscription__customer", "subscription__plan")
                .filter(panel=panel, name__in=[r.name for r in remotes]))
    for account in ours:
        remote = by_name.get(account.name.lower())
        if remote is None:
            continue
        account.used_bytes, account.panel_status = remote.used_bytes, remote.status[:16]
        account.last_online_at, account.synced_at = remote.last_online, now
        drift = _drift(account, remote) if account.status in TRACKED else {}
        if drift and not account.drift:
            account.drift_at = now
            result.drifted += 1
            if len(result.drift_examples) < 5:
                result.drift_examples.append(f"{account.name}: {', '.join(drift)}")
        account.drift = drift
        if not drift:
            account.drift_at = None
        if account.status == PanelAccount.Status.ACTIVE and _warn(account, now):
            result.warned += 1
    PanelAccount.objects.bulk_update(ours, ["used_bytes", "panel_status", "last_online_at", "synced_at", "drift",
                                            "drift_at", "warned_percent"], batch_size=PAGE)
    result.updated += len(ours)


def _drift(account: PanelAccount, remote: Account) -> dict:
    """What the panel says that the shop does not."""
    drift = {}
    wanted_on = account.status == PanelAccount.Status.ACTIVE
    if remote.enabled != wanted_on:
        drift["enabled"] = {"panel": remote.enabled, "shop": wanted_on}
    if wanted_on and remote.limit_bytes != account.limit_bytes:
        drift["limit_bytes"] = {"panel": remote.limit_bytes, "shop": account.limit_bytes}
    if wanted_on and account.expires_at:
        got = remote.expires_at
        if got is None or abs((got - account.expires_at).total_seconds()) > EXPIRY_SLACK_SECONDS:
            drift["expires_at"] = {"panel": got.isoformat() if got else None, "shop": account.expires_at.isoformat()}
    return drift


def _missing(panel: Panel, now: datetime, result: SyncResult) -> int:
    """Accounts the shop keeps on this panel that the panel's list did not have."""
    gone = PanelAccount.objects.filter(panel=panel, status__in=TRACKED).filter(
        Q(synced_at__lt=now) | Q(synced_at__isnull=True))
    count = 0
    for account in gone.iterator(chunk_size=PAGE):
        if account.drift.get("missing"):
            continue
        PanelAccount.objects.filter(pk=account.pk).update(drift={"missing": True}, drift_at=now)
        count += 1
        if len(result.drift_examples) < 5:
            result.drift_examples.append(f"{account.name}: missing")
    result.drifted += count
    return count


def _warn(account: PanelAccount, now: datetime) -> bool:
    """The highest usage threshold crossed and not yet announced in this period: tell the
    customer once (a dedup key per account, limit, expiry and threshold)."""
    if not account.limit_bytes:
        return False
    percent = account.used_bytes * 100 // account.limit_bytes
    crossed = [t for t in sorted(settings.PANEL_TRAFFIC_WARNINGS) if percent >= t > account.warned_percent]
    if not crossed:
        return False
    threshold = crossed[-1]
    account.warned_percent = threshold
    subscription = account.subscription
    period = f"{account.limit_bytes}:{account.expires_at:%Y%m%d}" if account.expires_at else str(account.limit_bytes)
    left = max(account.limit_bytes - account.used_bytes, 0)
    with transaction.atomic():
        messaging.notify_customer(
            subscription.customer, kind="traffic_warning", dedup_key=f"traffic:{account.pk}:{period}:{threshold}",
            context={"percent": threshold, "plan": subscription.plan.name, "left_gb": round(left / 1024**3, 2)},
            text=lambda: _("📶 You have used %(percent)s%% of the traffic of your %(plan)s service (%(left)s GB "
                           "left). Renew or buy extra traffic with /my_services.")
            % {"percent": threshold, "plan": subscription.plan.name, "left": f"{left / 1024**3:.2f}"})
    return True


def account_repair(*, account_id: int) -> None:
    """Push the shop's truth to the panel for an account with drift (made again if missing).
    Only an account that is made (active or disabled): a pending or failed one is retried,
    a deleted one stays deleted."""
    status = PanelAccount.objects.filter(pk=account_id).values_list("status", flat=True).first()
    if status not in TRACKED:
        raise PanelsError(_("Only an active or disabled account can be repaired; this one is %(status)s.")
                          % {"status": PanelAccount.Status(status).label if status else _("gone")})
    with transaction.atomic():
        queue_push(account_id)


def panels_sync_all(*, now: datetime | None = None) -> list[SyncResult]:
    return [panel_sync(panel_id=pk, now=now) for pk in
            Panel.objects.filter(status__in=[Panel.Status.ACTIVE, Panel.Status.DRAINING])
            .exclude(kind=Panel.Kind.MANUAL).values_list("pk", flat=True)]
