"""A separate process sending messages through the product's sender (used by the burst
test to prove that two processes share one global limit through Redis)."""

import os
import sys


def main() -> None:
    api_url, token, redis_url, count, rate, first_chat = sys.argv[1:7]
    os.environ.update({"DJANGO_SETTINGS_MODULE": "vpnbot.settings", "TELEGRAM_API_URL": api_url,
                       "TELEGRAM_BOT_TOKEN": token, "REDIS_URL": redis_url, "TELEGRAM_MAX_MESSAGES_PER_SECOND": rate,
                       "DATABASE_URL": "sqlite://:memory:"})
    import django

    django.setup()
    from vpnbot.telegram.sender import get_sender

    sender = get_sender()
    for i in range(int(count)):
        sender.send_message(int(first_chat) + i, f"burst {i}")


if __name__ == "__main__":
    main()
