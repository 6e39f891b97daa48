"""VPN Shop Bot settings. Every value comes from the environment; see .env.example."""

from pathlib import Path

from .settings_env import BASE_DIR, env

VAR_DIR = BASE_DIR / "var"

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-insecure-change-me-" + "x" * 32)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Served over HTTPS (behind a proxy that terminates TLS and sets X-Forwarded-Proto): the
# session and CSRF cookies travel over HTTPS only. Off by default so `make run` works on http.
HTTPS = env.bool("HTTPS", default=False)
if HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_celery_beat",
    "vpnbot.core",
    "vpnbot.transport",
    "vpnbot.shop",
    "discounts",
    "crm",
    "backups",
    "notifications",
    "panels",
    "payments",
    "resellers",
    "antifraud",
    "reports",
    "miniapp",
    "devchat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into its lockout page
]

# --- Admin login: repeated failures lock the username from that address (django-axes) ---
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("ADMIN_LOGIN_LOCKOUT_HOURS", default=0.25)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)  # proxies in front (X-Forwarded-For)
AXES_SENSITIVE_PARAMETERS = []  # the password is always masked; the username and address are logged

ROOT_URLCONF = "vpnbot.urls"
WSGI_APPLICATION = "vpnbot.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'vpnbot.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.mysql":
    _db.setdefault("OPTIONS", {}).update({"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"})
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web, worker and scheduler share one SQLite file.
    _db.setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
_db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
_db.setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are PostgreSQL's; MariaDB and SQLite build the same index without
# the included column, which still serves the lookup: their warning says only that.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Cache (Redis when configured) -----------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- i18n ------------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", default="fa")
LANGUAGES = [("fa", "فارسی"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Tehran")
USE_I18N = True
USE_TZ = True
# Birth months and seasons: "jalali" (default) or "gregorian".
CALENDAR = env("CALENDAR", default="jalali")

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Celery ------------------------------------------------------------------------
# With no broker configured the product uses kombu's filesystem transport: a real broker
# made of files under var/broker, shared by the web process, the worker and the scheduler
# on one machine. Production sets CELERY_BROKER_URL to Redis.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
BROKER_DIR = Path(env("BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # kombu's default is ./control in the working directory
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The queue tasks go to (two shops sharing one Redis give each its own).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Telegram ---------------------------------------------------------------------
TELEGRAM_BOT_TOKEN = env("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_API_URL = env("TELEGRAM_API_URL", default="https://api.telegram.org").rstrip("/")
TELEGRAM_WEBHOOK_SECRET = env("TELEGRAM_WEBHOOK_SECRET", default="")
# The bot's @username (without @): pages outside Telegram (a payment's result) link back to it.
TELEGRAM_BOT_USERNAME = env("TELEGRAM_BOT_USERNAME", default="").lstrip("@")
TELEGRAM_MAX_MESSAGES_PER_SECOND = env.float("TELEGRAM_MAX_MESSAGES_PER_SECOND", default=30.0)
TELEGRAM_PER_CHAT_INTERVAL = env.float("TELEGRAM_PER_CHAT_INTERVAL", default=1.0)
TELEGRAM_PER_GROUP_PER_MINUTE = env.int("TELEGRAM_PER_GROUP_PER_MINUTE", default=20)
TELEGRAM_MAX_INLINE_RETRY_AFTER = env.float("TELEGRAM_MAX_INLINE_RETRY_AFTER", default=30.0)
TELEGRAM_PAID_BROADCAST_PER_SECOND = env.float("TELEGRAM_PAID_BROADCAST_PER_SECOND", default=1000.0)
TELEGRAM_RATE_LIMIT_REDIS_URL = env("TELEGRAM_RATE_LIMIT_REDIS_URL", default="")
TELEGRAM_REQUEST_TIMEOUT = env.float("TELEGRAM_REQUEST_TIMEOUT", default=30.0)
# A 5xx or a connection error/timeout is retried this many times, after 0.5 s, 1 s, 2 s …
TELEGRAM_MAX_RETRIES = env.int("TELEGRAM_MAX_RETRIES", default=3)
TELEGRAM_RETRY_BACKOFF = env.float("TELEGRAM_RETRY_BACKOFF", default=0.5)
TELEGRAM_PROCESSING_TIMEOUT = env.int("TELEGRAM_PROCESSING_TIMEOUT", default=300)
TELEGRAM_MAX_ATTEMPTS = env.int("TELEGRAM_MAX_ATTEMPTS", default=3)
TELEGRAM_DISPATCH_BATCH = env.int("TELEGRAM_DISPATCH_BATCH", default=50)
TELEGRAM_DISPATCH_INTERVAL_MS = env.int("TELEGRAM_DISPATCH_INTERVAL_MS", default=20)
ADMIN_TELEGRAM_IDS = [int(x) for x in env.list("ADMIN_TELEGRAM_IDS", default=[]) if str(x).strip()]

# --- The local chat page (devchat): the bot tried without Telegram ------------------------
# On by default when no bot token is set and DEBUG or `make run` (which sets MAKE_RUN=1); the
# production compose file sets it false. With it on and no token, the bot's Bot API calls go to
# the stand-in this server answers at LOCAL_CHAT_URL, with a token of its own, and /dev/chat/
# (staff only) plays Telegram's side. Off, every /dev/ URL answers 404.
LOCAL_CHAT = env.bool("LOCAL_CHAT", default=not TELEGRAM_BOT_TOKEN and (DEBUG or env.bool("MAKE_RUN", default=False)))
LOCAL_CHAT_URL = env("LOCAL_CHAT_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}/dev/telegram").rstrip("/")
LOCAL_CHAT_DIR = env("LOCAL_CHAT_DIR", default=str(VAR_DIR / "devchat"))
if LOCAL_CHAT and not TELEGRAM_BOT_TOKEN:
    import hashlib as _hashlib

    TELEGRAM_API_URL = LOCAL_CHAT_URL
    TELEGRAM_BOT_TOKEN = "1000001:local-" + _hashlib.sha256(f"{SECRET_KEY}:local-chat".encode()).hexdigest()[:32]
    if not ADMIN_TELEGRAM_IDS:  # someone to review receipts on the page's admin side
        ADMIN_TELEGRAM_IDS = [env.int("LOCAL_CHAT_ADMIN_ID", default=1000002)]

# --- Shop ---------------------------------------------------------------------------
CURRENCY = env("CURRENCY", default="Toman")
TOPUP_MIN_AMOUNT = env.int("TOPUP_MIN_AMOUNT", default=10_000)
TOPUP_MAX_AMOUNT = env.int("TOPUP_MAX_AMOUNT", default=50_000_000)
REFERRAL_REWARD_PERCENT = env.int("REFERRAL_REWARD_PERCENT", default=10)
PAYMENT_CARD_NUMBER = env("PAYMENT_CARD_NUMBER", default="")
PAYMENT_CARD_HOLDER = env("PAYMENT_CARD_HOLDER", default="")
VPN_PROVISIONER = env("VPN_PROVISIONER", default="vpnbot.shop.provisioning.ManualProvisioner")

# --- REST API -------------------------------------------------------------------------
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=500)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "vpnbot.core.throttling.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # staff with Django's model permissions; actions that move money or send messages name
    # their own permission (vpnbot.core.permissions.staff_with)
    "DEFAULT_PERMISSION_CLASSES": ["vpnbot.core.throttling.AnonymousFirst", "vpnbot.core.permissions.ModelPermissions"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "vpnbot.core.pagination.Pagination",
    "PAGE_SIZE": 50,
    # per token (its user); requests without credentials and wrong tokens per address
    "DEFAULT_THROTTLE_CLASSES": ["vpnbot.core.throttling.TokenThrottle", "vpnbot.core.throttling.AddressThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env("API_THROTTLE_USER", default="1200/min"),
                               "anon": env("API_THROTTLE_ANON", default="30/min"),
                               "auth_failures": env("API_THROTTLE_WRONG_TOKENS", default="10/hour")},
    "NUM_PROXIES": AXES_IPWARE_PROXY_COUNT or None,
}
# The OpenAPI schema and its documentation page are for staff unless opened on purpose.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)
SPECTACULAR_SETTINGS = {
    "TITLE": "VPN Shop Bot API",
    "DESCRIPTION": "Operate the VPN shop: customers, plans, orders, payments and the feature systems.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny" if API_DOCS_PUBLIC
                          else "rest_framework.permissions.IsAdminUser"],
    # Swagger UI and ReDoc from this server's static files, not a CDN: shops often run offline
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging: the bot token never appears in logs -------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "vpnbot.transport.redact.RedactTokenFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "telegram": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # failed logins and lockouts, without its start-up banner
    },
}

# --- Feature systems: each app's settings live in vpnbot/settings_apps/<app>.py ------
from .settings_apps.antifraud import *  # noqa: E402,F403
from .settings_apps.backups import *  # noqa: E402,F403
from .settings_apps.crm import *  # noqa: E402,F403
from .settings_apps.discounts import *  # noqa: E402,F403
from .settings_apps.miniapp import *  # noqa: E402,F403
from .settings_apps.notifications import *  # noqa: E402,F403
from .settings_apps.panels import *  # noqa: E402,F403
from .settings_apps.payments import *  # noqa: E402,F403
from .settings_apps.reports import *  # noqa: E402,F403
from .settings_apps.resellers import *  # noqa: E402,F403
