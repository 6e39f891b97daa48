"""Rate limits for the sender: GCRA reservations, in Redis when configured.

`reserve(key, interval)` books the next free slot of a key and returns how long to wait
for it, so callers across all processes are spaced `interval` seconds apart per key.
"""

import threading
import time

from django.conf import settings

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.6f', tat + interval), 'PX', math.ceil((tat - now + interval) * 1000) + 1000)
return string.format('%.6f', tat - now)
"""

_PUSH_BACK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ = now + tonumber(ARGV[1])
if until_ > tat then
  redis.call('SET', KEYS[1], string.format('%.6f', until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


class LocalLimiter:
    """One process: a dict of theoretical arrival times under a lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}

    def reserve(self, key: str, interval: float) -> float:
        with self._lock:
            now = time.monotonic()
            tat = max(self._tat.get(key, 0.0), now)
            self._tat[key] = tat + interval
            return tat - now

    def push_back(self, key: str, seconds: float) -> None:
        with self._lock:
            self._tat[key] = max(self._tat.get(key, 0.0), time.monotonic() + seconds)


class RedisLimiter:
    """All processes: the same reservation, atomic in a Lua script on the Redis clock."""

    def __init__(self, url: str, prefix: str = "vpnbot:tg:rl:"):
        import redis  # only when a Redis limiter is configured

        self._redis = redis.Redis.from_url(url)
        self._reserve = self._redis.register_script(_RESERVE)
        self._push = self._redis.register_script(_PUSH_BACK)
        self.prefix = prefix

    def reserve(self, key: str, interval: float) -> float:
        return float(self._reserve(keys=[self.prefix + key], args=[f"{interval:.6f}"]))

    def push_back(self, key: str, seconds: float) -> None:
        self._push(keys=[self.prefix + key], args=[f"{seconds:.6f}"])


def build_limiter():
    url = getattr(settings, "TELEGRAM_RATE_LIMIT_REDIS_URL", "") or settings.REDIS_URL
    return RedisLimiter(url) if url else LocalLimiter()
