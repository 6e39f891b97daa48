"""manage.py set_webhook URL: point Telegram at this server's /telegram/webhook/ with the
secret token and the update types the bot handles; with MINIAPP_ENABLED, the bot's menu button
opens the Mini App at URL/app/ (--no-menu-button leaves the menu button as it is)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from vpnbot.transport.sender import TelegramError, get_sender
from vpnbot.transport.views import webhook_secret

DEFAULT_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "pre_checkout_query"]


class Command(BaseCommand):
    help = "Point Telegram at this server's webhook (/telegram/webhook/) with the secret token."

    def add_arguments(self, parser):
        parser.add_argument("base_url", help="Public HTTPS base URL of this server, e.g. https://shop.example.com")
        parser.add_argument("--allowed-updates", default=",".join(DEFAULT_UPDATES),
                            help="Comma-separated update types (default: %(default)s)")
        parser.add_argument("--max-connections", type=int, default=40)
        parser.add_argument("--drop-pending", action="store_true", help="Drop updates waiting at Telegram")
        parser.add_argument("--no-menu-button", action="store_true",
                            help="Do not set the menu button that opens the Mini App (set when MINIAPP_ENABLED)")

    def handle(self, base_url, allowed_updates, max_connections, drop_pending, no_menu_button=False, **options):
        if settings.TELEGRAM_API_URL.rstrip("/") == settings.LOCAL_CHAT_URL.rstrip("/"):
            raise CommandError("The bot talks to the local chat's stand-in (LOCAL_CHAT is on and no TELEGRAM_BOT_TOKEN "
                               "is set): there is no Telegram to point at this server. Set TELEGRAM_BOT_TOKEN first.")
        if not base_url.startswith("https://"):
            raise CommandError("Telegram only delivers webhooks to an https:// URL.")
        if not 1 <= max_connections <= 100:
            raise CommandError("--max-connections must be between 1 and 100.")
        url = base_url.rstrip("/") + "/telegram/webhook/"
        updates = [u.strip() for u in allowed_updates.split(",") if u.strip()]
        try:
            get_sender().call("setWebhook", {
                "url": url, "secret_token": webhook_secret(), "allowed_updates": updates,
                "max_connections": max_connections, "drop_pending_updates": drop_pending or None,
            })
        except TelegramError as exc:
            raise CommandError(f"Telegram refused the webhook: {exc.description}") from None
        self.stdout.write(self.style.SUCCESS(f"Webhook set to {url} for {', '.join(updates)}."))
        if settings.MINIAPP_ENABLED and not no_menu_button:
            self.set_menu_button(base_url.rstrip("/") + "/app/")

    def set_menu_button(self, app_url: str) -> None:
        """The button beside the message field opens the Mini App (for every chat with the bot).
        Its label is in the shop's language (Telegram shows one label to everybody)."""
        with translation.override(settings.LANGUAGE_CODE):
            text = _("Shop")
        try:
            get_sender().call("setChatMenuButton", {"menu_button": {"type": "web_app", "text": text, "web_app": {"url": app_url}}})
        except TelegramError as exc:
            raise CommandError(f"Telegram refused the menu button: {exc.description}") from None
        self.stdout.write(self.style.SUCCESS(f"Menu button opens the Mini App at {app_url}."))
