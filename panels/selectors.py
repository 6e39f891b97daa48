"""Read-only queries of the panels, for the shop's pages, the admin and the API: what a
subscription's account shows, and lists of panels and accounts."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from vpnbot.shop.models import Subscription
from vpnbot.shop.provisioning import AccountInfo

from .models import Panel, PanelAccount

MAX_CHAIN = 1000


def _roots(subscriptions) -> dict[int, int]:
    """subscription id -> its chain's first subscription id (walked back, a few queries)."""
    parent = {s.pk: s.renewed_from_id for s in subscriptions}
    roots: dict[int, int] = {}
    for _ in range(MAX_CHAIN):
        missing = {p for p in parent.values() if p and p not in parent}
        if not missing:
            break
        parent.update(Subscription.objects.filter(pk__in=missing).values_list("pk", "renewed_from_id"))
    for s in subscriptions:
        node, steps = s.pk, 0
        while parent.get(node) and steps < MAX_CHAIN:
            node, steps = parent[node], steps + 1
        roots[s.pk] = node
    return roots


def account_info(subscriptions) -> dict[int, AccountInfo]:
    subscriptions = list(subscriptions)
    roots = _roots(subscriptions)
    accounts = {a.subscription_id: a for a in PanelAccount.objects.filter(subscription_id__in=set(roots.values()))}
    found = {}
    for s in subscriptions:
        account = accounts.get(roots[s.pk])
        if account is None:
            continue
        found[s.pk] = AccountInfo(status=account.status, panel=account.panel_id, account=account.name,
                                  used_bytes=account.used_bytes, limit_bytes=account.limit_bytes,
                                  subscription_url=account.subscription_url, last_online=account.last_online_at,
                                  usage_read_at=account.synced_at)
    return found


# --- the operators' pages (admin, API, commands, bot) ---------------------------------------------------

# accounts whose panel can be made to match the shop (a failed or pending one is retried instead)
REPAIRABLE = (PanelAccount.Status.ACTIVE, PanelAccount.Status.DISABLED)


def panels_with_counts() -> QuerySet[Panel]:
    """Panels with `active_accounts` (what counts against the capacity shown to operators)."""
    return Panel.objects.annotate(active_accounts=Count("accounts", filter=Q(accounts__status=PanelAccount.Status.ACTIVE)))


def panel_choices() -> list[tuple[int, str]]:
    """(id, "name (kind, status)") of every panel, for the plan form."""
    return [(panel.pk, f"{panel.name} ({panel.get_kind_display()}, {panel.get_status_display()})")
            for panel in Panel.objects.order_by("name")]


def panel_ids_to_sync() -> list[int]:
    """The panels the usage sync reads (not manual, not disabled)."""
    return list(Panel.objects.filter(status__in=[Panel.Status.ACTIVE, Panel.Status.DRAINING])
                .exclude(kind=Panel.Kind.MANUAL).order_by("name").values_list("pk", flat=True))


def accounts_list(*, panel: int | None = None, status: str = "", drift: bool | None = None) -> QuerySet[PanelAccount]:
    accounts = PanelAccount.objects.select_related("panel", "subscription__customer").order_by("-id")
    if panel is not None:
        accounts = accounts.filter(panel_id=panel)
    if status:
        accounts = accounts.filter(status=status)
    if drift is not None:
        accounts = accounts.filter(drift_at__isnull=not drift)
    return accounts


def subscription_get(subscription_id: int) -> Subscription | None:
    return Subscription.objects.select_related("customer", "plan").filter(pk=subscription_id).first()
