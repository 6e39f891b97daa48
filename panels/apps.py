"""The panels app: registers its provisioner with the shop and subscribes to the shop's events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PanelsConfig(AppConfig):
    name = "panels"
    verbose_name = _("VPN panels")

    def ready(self):
        # Django's rule: modules that use the models are imported once the registry is ready
        from vpnbot.shop import events, provisioning

        from . import adapters, checks, receivers  # noqa: F401  (adapters and checks register themselves)
        from .provisioner import PanelProvisioner

        provisioning.register_provisioner(PanelProvisioner())
        events.subscribe("order_refunded", receivers.on_order_refunded)
        events.subscribe("subscription_changed", receivers.on_subscription_changed)
