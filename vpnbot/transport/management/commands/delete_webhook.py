"""manage.py delete_webhook: remove the webhook at Telegram (e.g. before long polling with
runbot), optionally dropping the updates waiting there."""

from django.core.management.base import BaseCommand, CommandError

from vpnbot.transport.sender import TelegramError, get_sender


class Command(BaseCommand):
    help = "Remove the webhook at Telegram (for example before using runbot)."

    def add_arguments(self, parser):
        parser.add_argument("--drop-pending", action="store_true", help="Drop updates waiting at Telegram")

    def handle(self, drop_pending, **options):
        try:
            get_sender().call("deleteWebhook", {"drop_pending_updates": drop_pending or None})
        except TelegramError as exc:
            raise CommandError(f"Telegram refused: {exc.description}") from None
        self.stdout.write(self.style.SUCCESS("Webhook deleted."))
