"""manage.py set_webhook URL: point Telegram at this server's /telegram/webhook/ with the
secret token and the update types the bot handles."""

from django.core.management.base import BaseCommand, CommandError

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

    def handle(self, base_url, allowed_updates, max_connections, drop_pending, **options):
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
