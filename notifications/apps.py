from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from vpnbot.shop import events, messaging

        from . import services

        messaging.register_notifier(services.shop_notifier)
        events.subscribe("bot_blocked", services.on_bot_blocked)
        events.subscribe("subscription_expired", services.on_subscription_expired)
