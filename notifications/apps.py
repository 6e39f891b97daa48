"""The notifications app: its outbox takes over the transport's message port."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from vpnbot.shop import events
        from vpnbot.transport import messages

        from . import services

        messages.register_outbox(services.Outbox())
        events.subscribe("bot_blocked", services.on_bot_blocked)
        events.subscribe("subscription_expired", services.on_subscription_expired)
