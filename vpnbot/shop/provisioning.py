"""Provisioning: the VPN account behind a subscription. The shop asks, a provisioner delivers.

A provisioner answers `provision(subscription)` (a new subscription) and `extend(subscription)`
(a renewal: `subscription.renewed_from` is the one it follows on from) with:
- the config text to deliver now,
- `LATER`: it delivers the config itself when the account is ready (a panel account is being
  made by a task; it then calls `services.subscription_deliver_config`),
- None: a person has to do it (the admins are asked to paste a config).

The rest of the seam is optional, with the manual answers as defaults: what the shop shows
of an account (`account_info`), which panels sell a plan (`plan_target_choices`,
`plan_targets`, `set_plan_targets`), and what an operator or the customer can ask for
(`retry`, `regenerate_link`).

The panels app registers its provisioner (`register_provisioner`) in `ready()`; without it,
`VPN_PROVISIONER` (a dotted path, ManualProvisioner by default) is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _


class _Later:
    def __repr__(self):
        return "LATER"


LATER = _Later()


@dataclass(frozen=True)
class AccountInfo:
    """What the shop shows of a subscription's account (the staff API, /my_services)."""

    status: str  # manual | pending | active | disabled | failed | deleted
    panel: int | None = None
    account: str = ""
    used_bytes: int | None = None
    limit_bytes: int | None = None  # 0 = unlimited; None = not known
    subscription_url: str = ""
    last_online: datetime | None = None
    usage_read_at: datetime | None = None  # when used_bytes was read from the panel


class ProvisioningUnavailable(Exception):
    """What was asked cannot be done for this subscription (a manual one, a panel down…);
    the message is for the person who asked."""


class Provisioner:
    def provision(self, subscription):
        raise NotImplementedError

    def extend(self, subscription):
        raise NotImplementedError

    def account_info(self, subscriptions) -> dict[int, AccountInfo]:
        """Per subscription id; subscriptions with no account are left out."""
        return {}

    def plan_target_choices(self) -> list[tuple[int, str]]:
        """The panels a plan can be sold on, as (id, label) for the plan form; none = the form
        shows no panels field."""
        return []

    def plan_targets(self, plans) -> dict[int, list[int]]:
        """The panels each plan is sold on (ids), per plan id."""
        return {plan.pk: [] for plan in plans}

    def set_plan_targets(self, plan, panel_ids: list[int]) -> None:
        if panel_ids:
            raise ProvisioningUnavailable("There are no panels: this shop delivers configs by hand.")

    def retry(self, subscription) -> None:
        raise ProvisioningUnavailable("This subscription is delivered by hand: paste its config.")

    def regenerate_link(self, subscription) -> str:
        raise ProvisioningUnavailable("This subscription's config is delivered by hand.")

    def set_enabled(self, subscription, enabled: bool) -> None:
        """Switch the account of the subscription's chain off (it stops working, its time keeps
        running) or back on: a reseller's customer who stopped paying. Renewing does not switch
        it back on."""
        raise ProvisioningUnavailable(_("This service cannot be switched off or on here."))

    def add_traffic(self, subscription, extra_bytes: int) -> None:
        """Raise the traffic limit of the subscription's account by extra_bytes (a traffic pack
        the customer is paying for, inside the payment's transaction: raising refuses the sale)."""
        raise ProvisioningUnavailable(_("Extra traffic cannot be added to this service."))


class ManualProvisioner(Provisioner):
    """An operator pastes the config in the admin; renewals keep the existing one."""

    def provision(self, subscription):
        return None

    def extend(self, subscription):
        previous = subscription.renewed_from
        return previous.config if previous and previous.config else None

    def set_enabled(self, subscription, enabled: bool) -> None:
        """An operator does it by hand: the admins are asked to."""
        from vpnbot.transport import messages

        state = "on" if enabled else "off"
        messages.notify_admins(dedup_key=f"switch-{state}:{subscription.pk}:{timezone.now():%Y-%m-%d-%H}", text=lambda: (
            _("🛠 Switch ON the VPN account of subscription #%(id)s (%(plan)s, %(customer)s, “%(label)s”) by hand.")
            if enabled else
            _("🛠 Switch OFF the VPN account of subscription #%(id)s (%(plan)s, %(customer)s, “%(label)s”) by hand."))
            % {"id": subscription.pk, "plan": subscription.plan, "customer": subscription.customer,
               "label": subscription.label or "-"})


_registered: Provisioner | None = None


def register_provisioner(provisioner: Provisioner | None) -> None:
    """The panels app's provisioner takes over (it hands plans without panels to VPN_PROVISIONER)."""
    global _registered
    _registered = provisioner


def configured_provisioner() -> Provisioner:
    """VPN_PROVISIONER: the manual one unless a shop set its own."""
    return import_string(settings.VPN_PROVISIONER)()


def get_provisioner() -> Provisioner:
    return _registered if _registered is not None else configured_provisioner()
