"""The Telegram transport app (label "telegram", so its tables keep their names)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelegramConfig(AppConfig):
    name = "vpnbot.transport"
    label = "telegram"
    verbose_name = _("Telegram transport")
