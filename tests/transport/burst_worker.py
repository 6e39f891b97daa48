"""A separate process sending messages through the product's sender (used by the burst
test to prove that two processes share one global limit through Redis)."""

import json
import os
import sys
import time


def main() -> None:
    api_url, token, redis_url, count, rate, first_chat, prefix = sys.argv[1:8]
    os.environ.update({"DJANGO_SETTINGS_MODULE": "vpnbot.settings", "TELEGRAM_API_URL": api_url,
                       "TELEGRAM_BOT_TOKEN": token, "REDIS_URL": redis_url, "TELEGRAM_MAX_MESSAGES_PER_SECOND": rate,
                       "DATABASE_URL": "sqlite://:memory:"})
    import django

    django.setup()
    from vpnbot.transport.limiter import RedisLimiter
    from vpnbot.transport.sender import Sender

    # the product's sender with its Redis limiter, under this test run's own keys
    limiter = RedisLimiter(redis_url, prefix=prefix)
    slots = []  # when the limiter let each message go (CLOCK_MONOTONIC: the same in every process)
    reserve = limiter.reserve

    def recording_reserve(key, interval):
        wait = reserve(key, interval)
        if key.startswith("global:"):
            slots.append(time.monotonic() + max(wait, 0.0))
        return wait

    limiter.reserve = recording_reserve
    sender = Sender(api_url=api_url, token=token, limiter=limiter)
    for i in range(int(count)):
        sender.send_message(int(first_chat) + i, f"burst {i}")
    print(json.dumps(slots))


if __name__ == "__main__":
    main()
