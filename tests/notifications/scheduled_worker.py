"""A separate process running the scheduled messages' due job and the delivery every 50 ms
until the message is done and sent, for the concurrency tests: `python -m
tests.notifications.scheduled_worker <message id>` with DATABASE_URL and the fake Bot API in the
environment (Celery tasks inline)."""

import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings")
    import django

    django.setup()
    from notifications import services
    from notifications.models import Notification, ScheduledMessage

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        services.scheduled_messages_run()
        services.notification_process()
        message = ScheduledMessage.objects.get(pk=int(sys.argv[1]))
        if message.status == "done" and not Notification.objects.filter(status="pending").exists():
            return
        time.sleep(0.05)
    sys.exit("the scheduled message was not done in time")


if __name__ == "__main__":
    main()
