"""The resellers app: registers the reseller price with the shop's price_quote, subscribes
to the shop's events (commissions taken back on refunds, a bulk purchase's configs file) and
offers its resellers as an audience to whoever sends to many (broadcasts, scheduled messages)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResellersConfig(AppConfig):
    name = "resellers"
    verbose_name = _("Resellers")

    def ready(self):
        # Django's rule: modules that use the models are imported once the registry is ready
        from vpnbot.shop import audiences, events, pricing

        from . import receivers, selectors, services

        pricing.register_price_adjuster(services.reseller_price_adjust, first=True)  # the others: off this price
        events.subscribe("order_refunded", receivers.on_order_refunded)
        events.subscribe("config_delivered", receivers.on_config_delivered)
        audiences.register_audience("resellers", _("Resellers"), selectors.reseller_customers)
