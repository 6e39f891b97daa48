"""The shop app: plugs the customer into the transport (admins, language, blocked chats)."""

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "vpnbot.shop"
    label = "shop"
    verbose_name = "Shop"

    def ready(self):
        from vpnbot.transport import bot, messages, permissions
        from vpnbot.transport.sender import chat_blocked

        from . import handlers, messaging, services

        permissions.register_admin_check(services.customer_is_operator)
        permissions.register_admin_provider(services.operator_chat_ids)
        messages.register_chat_language(messaging.admin_language)
        bot.register_context_hook(handlers.load_customer)
        chat_blocked.connect(services.on_chat_blocked, dispatch_uid="shop-chat-blocked")
