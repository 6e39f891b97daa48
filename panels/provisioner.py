"""The shop's Provisioner, on panels: a plan sold on panels gets its accounts made, renewed
and read here; any other plan goes to the configured provisioner (manual by default)."""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _

from vpnbot.shop.provisioning import LATER, AccountInfo, Provisioner, ProvisioningUnavailable, configured_provisioner

from . import selectors, services
from .adapters import PanelError

log = logging.getLogger(__name__)


class PanelProvisioner(Provisioner):
    def __init__(self):
        self.fallback = configured_provisioner()

    def provision(self, subscription):
        started = services.provision_start(subscription)
        if started is None:  # not sold on a panel
            return self.fallback.provision(subscription)
        return LATER if started else None  # no room: the operators deliver it

    def extend(self, subscription):
        if services.extend_start(subscription) is None:  # this chain has no panel account
            return self.fallback.extend(subscription)
        return LATER

    def account_info(self, subscriptions) -> dict[int, AccountInfo]:
        return selectors.account_info(subscriptions)

    def plan_target_choices(self) -> list[tuple[int, str]]:
        return selectors.panel_choices()

    def plan_targets(self, plans) -> dict[int, list[int]]:
        return services.plan_targets(plans)

    def set_plan_targets(self, plan, panel_ids: list[int]) -> None:
        try:
            services.plan_set_targets(plan=plan, panel_ids=panel_ids)
        except services.PanelsError as exc:
            raise ProvisioningUnavailable(str(exc)) from None

    def retry(self, subscription) -> None:
        try:
            services.account_retry(subscription=subscription)
        except services.PanelsError as exc:
            raise ProvisioningUnavailable(str(exc)) from None

    def regenerate_link(self, subscription) -> str:
        try:
            return services.account_regenerate_link(subscription=subscription)
        except services.PanelsError as exc:
            raise ProvisioningUnavailable(str(exc)) from None
        except PanelError as exc:
            log.warning("new link for subscription %s failed: %s", subscription.pk, exc)
            raise ProvisioningUnavailable(_("The server could not be reached: please try again in a few minutes.")) from None

    def set_enabled(self, subscription, enabled: bool) -> None:
        if services.account_for(subscription) is None and not services.plan_is_on_panels(subscription.plan):
            return self.fallback.set_enabled(subscription, enabled)  # not sold on panels: by hand
        try:
            services.account_set_suspended(subscription=subscription, suspended=not enabled)
        except services.PanelsError as exc:
            raise ProvisioningUnavailable(str(exc)) from None
        return None

    def add_traffic(self, subscription, extra_bytes: int) -> None:
        if services.account_for(subscription) is None:  # this chain has no panel account
            return self.fallback.add_traffic(subscription, extra_bytes)
        try:
            services.account_add_traffic(subscription=subscription, extra_bytes=extra_bytes)
        except services.PanelsError as exc:
            raise ProvisioningUnavailable(str(exc)) from None
        return None
