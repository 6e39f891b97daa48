"""Settings for the test suite: the same as production but tasks run in-process and the
per-chat spacing is off unless a test turns it on. DATABASE_URL still selects the server."""

from .settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
TELEGRAM_PER_CHAT_INTERVAL = 0.0
TELEGRAM_MAX_MESSAGES_PER_SECOND = 10_000.0
TELEGRAM_BOT_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
# the local chat page and its stand-in are off unless a test turns them on (tests/devchat)
LOCAL_CHAT = False
if TELEGRAM_API_URL == LOCAL_CHAT_URL:  # noqa: F405 (DEBUG=true in a developer's .env)
    TELEGRAM_API_URL = "https://api.telegram.org"
TELEGRAM_WEBHOOK_SECRET = "test-secret"
REDIS_URL = ""
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
ADMIN_TELEGRAM_IDS = [9001, 9002]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
BACKUP_DIR = VAR_DIR / "test-backups"  # noqa: F405
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
TELEGRAM_RETRY_BACKOFF = 0.01  # retries without the production pauses
# each test rolls its rules back: read them every time (tests/antifraud checks the cache itself)
ANTIFRAUD_RULES_CACHE_SECONDS = 0
