"""The notifications app: its outbox takes over the transport's message port."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vpnbot.transport import messages


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        # both import models, which cannot load before the app registry is ready
        from vpnbot.shop import events

        from . import services

        messages.register_outbox(services.Outbox())
        events.subscribe("bot_blocked", services.on_bot_blocked)
        events.subscribe("subscription_expired", services.on_subscription_expired)
