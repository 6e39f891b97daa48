"""Read-only queries of the panels, for the shop's pages, the admin and the API: what a
subscription's account shows, and lists of panels and accounts."""

from __future__ import annotations

from vpnbot.shop.models import Subscription
from vpnbot.shop.provisioning import AccountInfo

from .models import PanelAccount

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
