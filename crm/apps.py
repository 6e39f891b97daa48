from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self):
        from vpnbot.shop import events

        from . import integrations, services

        events.subscribe("*", services.activity_from_event)
        integrations.register()
