"""The resellers app: registers the reseller price with the shop's price_quote and subscribes
to the shop's events (commissions taken back on refunds, a bulk purchase's configs file)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResellersConfig(AppConfig):
    name = "resellers"
    verbose_name = _("Resellers")

    def ready(self):
        # Django's rule: modules that use the models are imported once the registry is ready
        from vpnbot.shop import events, pricing

        from . import receivers, services

        pricing.register_price_adjuster(services.reseller_price_adjust, first=True)  # the others: off this price
        events.subscribe("order_refunded", receivers.on_order_refunded)
        events.subscribe("config_delivered", receivers.on_config_delivered)
