"""manage.py runbot: receive updates by long polling (development), through the same inbox
and handlers as the webhook."""

import time

from django.core.management.base import BaseCommand, CommandError

from vpnbot.transport import services
from vpnbot.transport.sender import TelegramError, TelegramNetworkError, get_sender


class Command(BaseCommand):
    help = ("Development: receive updates by long polling instead of a webhook. Updates go "
            "through the same inbox and handlers as the webhook's.")

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=int, default=30, help="Long-poll timeout in seconds")
        parser.add_argument("--once", action="store_true", help="Poll once and exit (for checks)")

    def handle(self, timeout, once, **options):
        sender = get_sender()
        try:
            me = sender.call("getMe")
            sender.call("deleteWebhook")
        except TelegramError as exc:
            raise CommandError(f"Telegram refused the bot token or the call: {exc.description}") from None
        self.stdout.write(self.style.SUCCESS(f"Polling as @{me.get('username')} (Ctrl-C to stop)."))
        offset = None
        while True:
            try:
                updates = sender.call("getUpdates", {"offset": offset, "timeout": timeout},
                                      timeout=timeout + 10)
            except TelegramNetworkError as exc:
                self.stderr.write(f"network error, retrying in 3s: {exc}")
                time.sleep(3)
                continue
            for payload in updates:
                offset = payload["update_id"] + 1
                row, created = services.inbox_receive(payload=payload)
                if created:
                    status = services.inbox_process(inbox_id=row.pk)
                    self.stdout.write(f"update {payload['update_id']}: {status}")
            if once:
                return
