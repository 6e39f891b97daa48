"""The CRM's app config: on start it subscribes to every shop event (activity) and plugs its
segments into the discounts' conditions and the notifications' audiences."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self):
        # Django's rule: modules that use the models are imported once the registry is ready
        from vpnbot.shop import events

        from . import integrations, services

        events.subscribe("*", services.activity_from_event)
        integrations.register()
