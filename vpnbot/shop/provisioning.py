"""Provisioning: creating or extending the VPN account behind a subscription.

A provisioner is a class with two methods, each returning the config text to deliver or
None when a person has to do it:

    provision(subscription) -> str | None   # a new subscription
    extend(subscription) -> str | None      # a renewal; subscription.renewed_from is the old one

Pick one with VPN_PROVISIONER (a dotted path). A panel provisioner (Marzban, 3x-ui, ...)
calls the panel's API here to create the user with the plan's traffic, device limit and
expiry, and returns the subscription link; see docs/provisioning.md.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string


class Provisioner:
    def provision(self, subscription) -> str | None:
        raise NotImplementedError

    def extend(self, subscription) -> str | None:
        raise NotImplementedError


class ManualProvisioner(Provisioner):
    """An operator pastes the config in the admin; renewals keep the existing one."""

    def provision(self, subscription) -> str | None:
        return None

    def extend(self, subscription) -> str | None:
        previous = subscription.renewed_from
        return previous.config if previous and previous.config else None


def get_provisioner() -> Provisioner:
    return import_string(settings.VPN_PROVISIONER)()
