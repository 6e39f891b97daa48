"""An account's life on its panel, always in step with the shop: made when a subscription is
paid (by a task, after the order commits), extended on renewal, pushed again when the shop
changes (a refund, an operator's edit, expiry), its link regenerated on request.

One account serves a chain of renewals: it belongs to the chain's first subscription, and
the shop's truth for it (expiry: the latest active subscription of the chain; traffic limit;
devices; on or off) is what `spec_for` says. Every call that could have acted before failing
is followed, next time, by a look-up: a subscription never gets two accounts.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core import bounds
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Subscription
from vpnbot.transport import messages

from ..adapters import Account, AccountExists, AccountMissing, AccountSpec, PanelRefused, adapter_for
from ..models import PanelAccount
from .catalog import panel_choose, plan_is_on_panels
from .errors import PanelsError

log = logging.getLogger(__name__)
GB = 1024**3
MAX_CHAIN = 1000  # renewals followed back or forth: far above any real chain, a guard against a loop


# --- the chain of renewals -----------------------------------------------------------------------------

def _links(customer_id: int) -> dict[int, int | None]:
    """Every subscription of the customer -> the one it renews: one query, whatever the chain's
    length (a renewal is always the same customer's)."""
    return dict(Subscription.objects.filter(customer_id=customer_id).values_list("pk", "renewed_from_id"))


def chain_root(subscription: Subscription) -> Subscription:
    if not subscription.renewed_from_id:
        return subscription
    parent = _links(subscription.customer_id)
    pk, seen = subscription.pk, 0
    while parent.get(pk) and seen < MAX_CHAIN:
        pk, seen = parent[pk], seen + 1
    return Subscription.objects.select_related("customer", "plan").get(pk=pk)


def chain_members(root: Subscription) -> list[Subscription]:
    """The root and every renewal that follows from it, in two queries."""
    children: dict[int, list[int]] = {}
    for pk, parent in _links(root.customer_id).items():
        if parent:
            children.setdefault(parent, []).append(pk)
    wanted, frontier = [], [root.pk]
    while frontier and len(wanted) < MAX_CHAIN:
        frontier = [child for pk in frontier for child in children.get(pk, ())]
        wanted += frontier
    found = {s.pk: s for s in Subscription.objects.filter(pk__in=wanted)} if wanted else {}
    return [root, *(found[pk] for pk in wanted if pk in found)]


def account_for(subscription: Subscription) -> PanelAccount | None:
    return (PanelAccount.objects.select_related("panel", "subscription__customer", "subscription__plan")
            .filter(subscription=chain_root(subscription)).first())


def account_name(root: Subscription) -> str:
    """Unique on the panel, readable by an operator: prefix, Telegram id, first subscription."""
    return f"{settings.PANEL_ACCOUNT_PREFIX}_{root.customer.telegram_id}_{root.pk}"[:32]


def spec_for(account: PanelAccount, *, now: datetime | None = None) -> AccountSpec:
    """What the account must be, from the shop's records."""
    now = now or timezone.now()
    members = chain_members(account.subscription)
    active = [m for m in members if m.status == Subscription.Status.ACTIVE]
    expires = max((m.expires_at for m in (active or members)), default=None)
    wanted = account.status in (PanelAccount.Status.PENDING, PanelAccount.Status.ACTIVE)
    root = account.subscription
    return AccountSpec(name=account.name, expires_at=expires, limit_bytes=account.limit_bytes, devices=account.devices,
                       enabled=(wanted and not account.suspended and bool(active) and expires is not None
                                and expires > now),
                       note=f"{root.customer.telegram_id} #{root.pk}")


def _store(account: PanelAccount, remote: Account, spec: AccountSpec, *, status: str, new_link: bool = False) -> None:
    """Write what the panel now says, and the shop's truth it was made to match. The link is
    kept as first given (Marzban answers a fresh token on every read; the old ones keep
    working) unless new_link: a new account, or one the customer asked a new link for."""
    link = remote.subscription_url[:500] if (new_link or not account.subscription_url) else account.subscription_url
    PanelAccount.objects.filter(pk=account.pk).update(
        status=status, remote_id=remote.remote_id[:64], expires_at=spec.expires_at, used_bytes=remote.used_bytes,
        subscription_url=link, panel_status=remote.status[:16], last_online_at=remote.last_online,
        synced_at=timezone.now(), last_error="", drift={}, drift_at=None)
    account.status, account.subscription_url = status, link


# --- a purchase: the account is made by a task ----------------------------------------------------------

def provision_start(subscription: Subscription):
    """The provisioner's provision(): a PanelAccount to make on the plan's best panel, and the
    task that makes it (after commit). Returns True when it was started, None when the plan is
    not sold on a panel (the operators deliver it), False when no panel has room (the admins
    are told; an operator delivers it or adds room and retries)."""
    plan = subscription.plan
    with transaction.atomic():
        panel = panel_choose(plan)
        if panel is None:
            if not plan_is_on_panels(plan):
                return None
            messages.notify_admins(kind="panels_full", dedup_key=f"panels-full:{plan.pk}:{timezone.now():%Y-%m-%d}",
                                   text=lambda: _("⚠️ No panel of plan %(plan)s has room for a new account "
                                                  "(subscription #%(id)s): raise a panel's capacity or add one, "
                                                  "then retry, or paste a config by hand.")
                                   % {"plan": html.escape(plan.name), "id": subscription.pk})
            return False
        order = subscription.order
        quantity = order.quantity if order else 1
        account, created = PanelAccount.objects.get_or_create(subscription=subscription, defaults={
            "panel": panel, "name": account_name(subscription), "devices": plan.device_limit,
            "limit_bytes": initial_limit_bytes(subscription, quantity), "status": PanelAccount.Status.PENDING})
    if created or account.status == PanelAccount.Status.PENDING:
        queue_provision(account.pk)
    return True


def initial_limit_bytes(subscription: Subscription, quantity: int = 1) -> int:
    """The traffic limit a new account starts with: the plan's for each period bought, or
    TRIAL_TRAFFIC_GB for the customer's free trial (0 = unlimited)."""
    if subscription.is_trial:
        return min(max(settings.TRIAL_TRAFFIC_GB, 0), bounds.MAX_TRAFFIC_GB) * GB
    return subscription.plan.traffic_gb * GB * quantity


def queue_provision(account_id: int) -> None:
    from .. import tasks  # tasks imports services: a real cycle

    transaction.on_commit(lambda: tasks.provision_account.delay(account_id))


def queue_push(account_id: int, *, renewal_id: int | None = None, reset_usage: bool = False) -> None:
    from .. import tasks  # tasks imports services: a real cycle

    transaction.on_commit(lambda: tasks.push_account.delay(account_id, renewal_id, reset_usage))


def account_provision(*, account_id: int) -> None:
    """The task's work: make the account on its panel (or find the one a lost answer made),
    verify it, deliver the link. Raises the adapter's errors for the task to retry or give up."""
    account = (PanelAccount.objects.select_related("panel", "subscription__customer", "subscription__plan")
               .get(pk=account_id))
    if account.status not in (PanelAccount.Status.PENDING, PanelAccount.Status.FAILED):
        return  # done already (a task that ran twice)
    PanelAccount.objects.filter(pk=account.pk).update(attempts=F("attempts") + 1)
    spec = spec_for(account)
    with adapter_for(account.panel) as adapter:
        remote = adapter.get(spec.name)  # an earlier attempt may have made it before its answer was lost
        if remote is None:
            try:
                remote = adapter.create(spec)
            except AccountExists:
                remote = adapter.update(spec)
        else:
            remote = adapter.update(spec)
    if not remote.subscription_url:
        raise PanelRefused(f"panel {account.panel.name} gave account {spec.name} no subscription link: "
                           "set the panel's public subscription address")
    status = PanelAccount.Status.DISABLED if account.suspended else PanelAccount.Status.ACTIVE
    _store(account, remote, spec, status=status, new_link=True)
    shop_services.subscription_deliver_config(subscription_id=account.subscription_id, config=account.subscription_url)


def account_failed(*, account_id: int, error: str) -> None:
    """The last attempt failed: the order stays paid, the account shows the failure, and the
    admins are told once, with a button to try again."""
    account = PanelAccount.objects.select_related("panel", "subscription__customer", "subscription__plan").get(pk=account_id)
    PanelAccount.objects.filter(pk=account.pk).update(status=PanelAccount.Status.FAILED, last_error=error[:1000])
    log.error("provisioning of %s on %s failed: %s", account.name, account.panel.name, error)
    messages.notify_admins(
        kind="provisioning_failed", dedup_key=f"provisioning-failed:{account.pk}:{account.attempts}",
        text=lambda: _("⚠️ The VPN account of subscription #%(id)s (%(plan)s for %(customer)s) could not be made "
                       "on panel %(panel)s: %(error)s\nThe order stays paid. Retry with the button, with "
                       "/retry_provisioning %(id)s, or in the admin (Panel accounts).")
        % {"id": account.subscription_id, "plan": account.subscription.plan.name,
           "customer": html.escape(str(account.subscription.customer)), "panel": html.escape(account.panel.name),
           "error": html.escape(error[:300])},
        buttons=lambda: [[(_("🔁 Retry"), f"pn:retry:{account.subscription_id}")]])


def account_retry(*, subscription: Subscription) -> PanelAccount:
    """Try again: a failed account is made afresh (looked up first), any other pushed again."""
    account = account_for(subscription)
    if account is None:
        raise PanelsError(_("Subscription #%(id)s has no account on a panel.") % {"id": subscription.pk})
    if account.status in (PanelAccount.Status.FAILED, PanelAccount.Status.PENDING):
        PanelAccount.objects.filter(pk=account.pk).update(status=PanelAccount.Status.PENDING, last_error="")
        with transaction.atomic():
            queue_provision(account.pk)
    else:
        with transaction.atomic():
            queue_push(account.pk)
    account.refresh_from_db()
    return account


# --- renewal and changes: the same account pushed again ------------------------------------------------

def extend_start(subscription: Subscription):
    """The provisioner's extend(): the chain's account takes the renewal (days from the later of
    now and the current expiry, which the shop already counted; traffic reset or added per the
    plan). Returns True when a push was started, None when the chain has no panel account."""
    account = account_for(subscription)
    if account is None:
        return None
    plan = subscription.plan
    quantity = subscription.order.quantity if subscription.order else 1
    more = plan.traffic_gb * GB * quantity
    reset = plan.traffic_on_renewal == "reset"
    with transaction.atomic():
        locked = PanelAccount.objects.select_for_update().get(pk=account.pk)
        limit = more if reset or not more or not locked.limit_bytes else locked.limit_bytes + more
        status = PanelAccount.Status.ACTIVE if locked.status != PanelAccount.Status.FAILED else locked.status
        PanelAccount.objects.filter(pk=locked.pk).update(limit_bytes=limit, devices=plan.device_limit, status=status,
                                                         warned_percent=0 if reset else F("warned_percent"))
        if locked.status == PanelAccount.Status.FAILED:
            queue_provision(locked.pk)
        else:
            queue_push(locked.pk, renewal_id=subscription.pk, reset_usage=reset)
    return True


def account_push(*, account_id: int, renewal_id: int | None = None, reset_usage: bool = False) -> None:
    """Make the panel match the shop (expiry, limit, devices, on/off). An account missing on the
    panel is made again and the admins are told: a renewal is never reported done silently."""
    account = PanelAccount.objects.select_related("panel", "subscription__customer", "subscription__plan").get(pk=account_id)
    if account.status == PanelAccount.Status.DELETED and not renewal_id:
        return
    if account.status == PanelAccount.Status.DELETED:
        PanelAccount.objects.filter(pk=account.pk).update(status=PanelAccount.Status.ACTIVE)
        account.status = PanelAccount.Status.ACTIVE
    spec = spec_for(account)
    recreated = False
    with adapter_for(account.panel) as adapter:
        try:
            if reset_usage:
                adapter.reset_usage(spec.name)
            remote = adapter.update(spec)
        except AccountMissing:
            remote = adapter.create(spec)
            recreated = True
    status = PanelAccount.Status.ACTIVE if spec.enabled else PanelAccount.Status.DISABLED
    _store(account, remote, spec, status=status, new_link=recreated)
    if recreated:
        messages.notify_admins(
            kind="account_recreated", dedup_key=f"account-recreated:{account.pk}:{timezone.now():%Y-%m-%d}",
            text=lambda: _("⚠️ Account %(name)s (subscription #%(id)s) was missing on panel %(panel)s and was made "
                           "again. The customer's old link no longer works: they were sent the new one.")
            % {"name": account.name, "id": account.subscription_id, "panel": html.escape(account.panel.name)})
    if renewal_id or recreated:
        shop_services.subscription_deliver_config(subscription_id=renewal_id or account.subscription_id,
                                                  config=account.subscription_url,
                                                  renewal=bool(renewal_id))


def account_push_failed(*, account_id: int, error: str) -> None:
    """A push that kept failing: the account shows the error, the admins are told once a day."""
    account = PanelAccount.objects.select_related("panel").get(pk=account_id)
    PanelAccount.objects.filter(pk=account.pk).update(last_error=error[:1000])
    log.error("push of %s to %s failed: %s", account.name, account.panel.name, error)
    messages.notify_admins(
        kind="account_push_failed", dedup_key=f"push-failed:{account.pk}:{timezone.now():%Y-%m-%d}",
        text=lambda: _("⚠️ Account %(name)s (subscription #%(id)s) could not be brought in step on panel %(panel)s: "
                       "%(error)s\nRetry with /retry_provisioning %(id)s when the panel is back.")
        % {"name": account.name, "id": account.subscription_id, "panel": html.escape(account.panel.name),
           "error": html.escape(error[:300])})


def account_changed(*, subscription_id: int) -> None:
    """The shop changed a subscription of the chain (a refund, an operator's edit): push it."""
    subscription = Subscription.objects.filter(pk=subscription_id).select_related("customer", "plan").first()
    account = account_for(subscription) if subscription else None
    if account is not None and account.status in (PanelAccount.Status.ACTIVE, PanelAccount.Status.DISABLED):
        with transaction.atomic():
            queue_push(account.pk)


def account_regenerate_link(*, subscription: Subscription) -> str:
    """A new subscription link for the customer (the old one stops working), at once."""
    account = account_for(subscription)
    if account is None or account.status != PanelAccount.Status.ACTIVE:
        raise PanelsError(_("This service has no active account to give a new link to."))
    with adapter_for(account.panel) as adapter:
        remote = adapter.regenerate_link(account.name)
    PanelAccount.objects.filter(pk=account.pk).update(subscription_url=remote.subscription_url[:500])
    shop_services.subscription_deliver_config(subscription_id=subscription.pk, config=remote.subscription_url)
    return remote.subscription_url


# --- switched off and on: a reseller's customer who stopped paying ---------------------------------------

def account_set_suspended(*, subscription: Subscription, suspended: bool) -> PanelAccount:
    """Switch the chain's account off (kept off on the panel, renewals included; its time keeps
    running) or back on: set under a row lock, pushed to the panel after commit. A PanelsError
    when the chain has no account on a panel. Doing what is done already pushes nothing."""
    account = account_for(subscription)
    if account is None:
        raise PanelsError(_("This service has no account on a panel."))
    with transaction.atomic():
        locked = PanelAccount.objects.select_for_update().get(pk=account.pk)
        if locked.suspended == suspended:
            return locked
        fields = {"suspended": suspended}
        if suspended and locked.status == PanelAccount.Status.ACTIVE:
            fields["status"] = PanelAccount.Status.DISABLED  # the shop's truth now; the push follows
        elif not suspended and locked.status == PanelAccount.Status.DISABLED:
            fields["status"] = PanelAccount.Status.ACTIVE  # wanted again: the push says off if it has ended
        PanelAccount.objects.filter(pk=locked.pk).update(**fields)
        for name, value in fields.items():
            setattr(locked, name, value)
        if locked.status in (PanelAccount.Status.ACTIVE, PanelAccount.Status.DISABLED):
            queue_push(locked.pk)  # pending or failed: made as spec_for says; deleted: nothing left to switch
    return locked


# --- extra traffic: a pack the customer pays for ---------------------------------------------------------

def account_add_traffic(*, subscription: Subscription, extra_bytes: int) -> PanelAccount:
    """Inside the purchase's transaction: raise the chain's account's traffic limit (under a row
    lock, so two packs bought at once both count) and push it to the panel after commit. A
    usage warning already sent stays sent only while usage is still past it under the new limit."""
    if extra_bytes <= 0:
        raise PanelsError(_("Extra traffic must be more than zero."))
    account = account_for(subscription)
    if account is None:
        raise PanelsError(_("This service has no account on a panel."))
    with transaction.atomic():
        locked = PanelAccount.objects.select_for_update().get(pk=account.pk)
        if locked.status in (PanelAccount.Status.PENDING, PanelAccount.Status.FAILED):
            raise PanelsError(_("This service is still being prepared: please try again in a few minutes."))
        if locked.status != PanelAccount.Status.ACTIVE:
            raise PanelsError(_("This service is switched off on its server, so no traffic can be added."))
        if not locked.limit_bytes:
            raise PanelsError(_("This service has unlimited traffic already."))
        limit = locked.limit_bytes + extra_bytes
        percent = locked.used_bytes * 100 // limit
        warned = max((t for t in settings.PANEL_TRAFFIC_WARNINGS if t <= min(percent, locked.warned_percent)), default=0)
        PanelAccount.objects.filter(pk=locked.pk).update(limit_bytes=limit, warned_percent=warned)
        queue_push(locked.pk)
    locked.limit_bytes, locked.warned_percent = limit, warned
    return locked
