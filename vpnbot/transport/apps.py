"""The Telegram transport app (label "telegram", so its tables keep their names)."""

from django.apps import AppConfig


class TelegramConfig(AppConfig):
    name = "vpnbot.transport"
    label = "telegram"
    verbose_name = "Telegram transport"
