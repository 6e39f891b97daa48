"""A reseller's accounts after the purchase: switch one off or back on, read its usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop.models import Subscription
from vpnbot.shop.provisioning import AccountInfo, ProvisioningUnavailable, get_provisioner

from ..models import Account
from .buying import account_of
from .errors import ResellerError


@dataclass
class Usage:
    account: Account
    status: str  # active | disabled | expired | refunded | pending | failed | manual …
    expires_at: datetime
    used_bytes: int | None
    limit_bytes: int | None  # 0 = unlimited, None = not known (delivered by hand)
    last_online: datetime | None
    subscription_url: str


def account_set_enabled(*, reseller_id: int, account_id, enabled: bool) -> Account:
    """Switch one of the reseller's accounts off (it stops working; its time keeps running) or
    back on. Doing what is already done is no error."""
    account = account_of(reseller_id=reseller_id, account_id=account_id)
    if bool(account.disabled_at) != enabled:
        return account
    if enabled and account.subscription.status != Subscription.Status.ACTIVE:
        raise ResellerError(_("Account “%(label)s” has ended: renew it first.") % {"label": account.label})
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if bool(locked.disabled_at) != enabled:
            return account
        try:
            get_provisioner().set_enabled(account.subscription, enabled)
        except ProvisioningUnavailable as exc:
            raise ResellerError(str(exc)) from None
        account.disabled_at = None if enabled else timezone.now()
        Account.objects.filter(pk=account.pk).update(disabled_at=account.disabled_at)
    return account


def account_status(account: Account, info: AccountInfo | None, now: datetime | None = None) -> str:
    now = now or timezone.now()
    sub = account.subscription
    if sub.status == Subscription.Status.CANCELLED:
        return "refunded"
    if sub.status == Subscription.Status.EXPIRED or sub.expires_at <= now:
        return "expired"
    if account.disabled_at:
        return "disabled"
    if info is not None and info.status in ("pending", "failed"):
        return info.status
    if info is None and not sub.config:
        return "pending"
    return "active"


def accounts_usage(accounts: list[Account]) -> list[Usage]:
    """Usage of several accounts in one read of the provisioner."""
    infos = get_provisioner().account_info([a.subscription for a in accounts]) if accounts else {}
    now = timezone.now()
    result = []
    for account in accounts:
        info = infos.get(account.subscription_id)
        result.append(Usage(account=account, status=account_status(account, info, now),
                            expires_at=account.subscription.expires_at,
                            used_bytes=info.used_bytes if info else None,
                            limit_bytes=info.limit_bytes if info else None,
                            last_online=info.last_online if info else None,
                            subscription_url=(info.subscription_url if info else "") or account.subscription.config))
    return result


def account_usage(*, reseller_id: int, account_id) -> Usage:
    return accounts_usage([account_of(reseller_id=reseller_id, account_id=account_id)])[0]
