"""The notifications app: its outbox takes over the transport's message port."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        # models (which services import) cannot load before the app registry is ready
        from vpnbot.shop import events
        from vpnbot.transport import messages

        from . import services

        messages.register_outbox(services.Outbox())
        events.subscribe("bot_blocked", services.on_bot_blocked)
        events.subscribe("subscription_expired", services.on_subscription_expired)
