"""The customers' Telegram Mini App: pages under /app/ and their JSON API under /app/api/,
authenticated by Telegram's signed initData. Another front door like the bot's handlers: it
calls the shop's and the feature apps' services and selectors, and holds no rule of its own."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MiniAppConfig(AppConfig):
    name = "miniapp"
    verbose_name = _("Mini App")
