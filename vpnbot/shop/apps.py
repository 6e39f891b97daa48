"""The shop app: plugs the customer into the transport (admins, language, blocked chats)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vpnbot.transport import bot, messages, permissions
from vpnbot.transport.sender import chat_blocked


class ShopConfig(AppConfig):
    name = "vpnbot.shop"
    label = "shop"
    verbose_name = _("Shop")

    def ready(self):
        from . import handlers, messaging, selectors, services  # they import the models: the app registry must be ready

        permissions.register_admin_check(selectors.customer_is_operator)
        permissions.register_admin_provider(selectors.operator_chat_ids)
        messages.register_chat_language(messaging.admin_language)
        bot.register_context_hook(handlers.load_customer)
        chat_blocked.connect(services.on_chat_blocked, dispatch_uid="shop-chat-blocked")
