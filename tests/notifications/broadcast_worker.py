"""A separate process that sends a broadcast, for the crash tests: `python -m
tests.notifications.broadcast_worker <broadcast_id>` with DATABASE_URL and the fake Bot API
in the environment. The test kills it with SIGKILL midway."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings")
    import django

    django.setup()
    from notifications import services

    services.broadcast_run(broadcast_id=int(sys.argv[1]), time_budget=600)


if __name__ == "__main__":
    main()
