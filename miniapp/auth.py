"""Who is calling the Mini App's API: Telegram's signed initData, sent on every call as
`Authorization: tma <initData>` (the raw string of Telegram.WebApp.initData).

Telegram's check ("Validating data received via the Mini App"): the data-check-string is every
received field except `hash` (a `signature` field too: it is the Ed25519 signature for third
parties, and it is part of what the hash covers), sorted by key, as `key=value` lines joined by
"\n"; the secret key is HMAC-SHA256 of the bot token with the key "WebAppData"; the hash is the
hex HMAC-SHA256 of the data-check-string with that secret key. Then auth_date must be recent.

The caller is a customer, never a Django user: `MiniAppUser` is not staff and holds no
permission, so nothing of the staff API lets it in, and the staff API's token and session do
not authenticate here (the views list `TmaAuthentication` alone). No cookie is read, so there
is nothing for CSRF to abuse.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, throttling

from vpnbot.core.throttling import _CurrentRates
from vpnbot.shop import services as shop
from vpnbot.transport import permissions as transport

SCHEME = "tma"
MAX_LENGTH = 8192  # Telegram's initData is about 1 KB; anything far larger is not one
CLOCK_SKEW = 60  # seconds an auth_date may lie in the future (clocks differ a little)
HASH = re.compile(r"^[0-9a-f]{64}$")
REFERRAL = re.compile(r"^ref_([A-Za-z0-9_-]{1,16})")
REFERRAL_TRIED_FOR = 7 * 86400  # a start_param stays in initData all session: apply it once


class InitDataError(Exception):
    """The initData is not one Telegram signed for this bot now; the text is for the log."""


def data_check_string(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(pairs) if key != "hash")


def expected_hash(pairs: list[tuple[str, str]], bot_token: str) -> str:
    secret_key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret_key, data_check_string(pairs).encode(), hashlib.sha256).hexdigest()


def verify_init_data(raw: str, *, bot_token: str, max_age: int, now: float | None = None) -> dict:
    """The fields of a genuine, recent initData (`user` parsed from its JSON, `auth_date` an
    int); InitDataError otherwise."""
    if not bot_token:
        raise InitDataError("no bot token configured")
    if not isinstance(raw, str) or not raw or len(raw) > MAX_LENGTH:
        raise InitDataError("missing or oversized initData")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataError("not a query string") from None
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        raise InitDataError("a field appears twice")
    fields = dict(pairs)
    received = fields.get("hash", "")
    if not HASH.match(received):
        raise InitDataError("no hash")
    if not hmac.compare_digest(expected_hash(pairs, bot_token), received):
        raise InitDataError("wrong hash")
    auth_date = fields.get("auth_date", "")
    if not (auth_date.isascii() and auth_date.isdigit()) or len(auth_date) > 12:
        raise InitDataError("no auth_date")
    now = time.time() if now is None else now
    age = now - int(auth_date)
    if age > max_age:
        raise InitDataError("expired")
    if age < -CLOCK_SKEW:
        raise InitDataError("auth_date in the future")
    try:
        user = json.loads(fields.get("user", ""))
    except ValueError:
        raise InitDataError("no user") from None
    user_id = user.get("id") if isinstance(user, dict) else None
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0 or user.get("is_bot"):
        raise InitDataError("no user")
    data = {key: value for key, value in fields.items() if key != "hash"}
    data["user"] = user
    data["auth_date"] = int(auth_date)
    return data


class MiniAppUser:
    """The customer behind a verified initData, as request.user: authenticated, not staff,
    holding no Django permission."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None  # not a Django user: nothing keyed by user id may take it for one

    def __init__(self, customer, init_data: dict):
        self.customer = customer
        self.init_data = init_data

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False

    def __str__(self):
        return f"miniapp:{self.customer.telegram_id}"


def _text(value) -> str:
    return value if isinstance(value, str) else ""


class TmaAuthentication(authentication.BaseAuthentication):
    """`Authorization: tma <initData>`: the Telegram user becomes the shop's customer, made on
    first contact as /start makes it (a `ref_<code>` start_param links the inviter, as /start's
    deep link does)."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request)
        scheme, _sep, raw = header.partition(b" ")
        if scheme.lower() != SCHEME.encode():
            return None  # no initData: the permission answers 401 with WWW-Authenticate: tma
        try:
            data = verify_init_data(raw.decode("utf-8").strip(), bot_token=settings.TELEGRAM_BOT_TOKEN,
                                    max_age=settings.MINIAPP_INITDATA_MAX_AGE)
        except (InitDataError, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed(_("The Mini App's sign-in is not valid or has expired. "
                                                    "Close the Mini App and open it again.")) from None
        user = data["user"]
        refused = transport.refusal(user["id"])  # a banned customer: refused before anything is written
        if refused:
            raise exceptions.PermissionDenied(refused)
        customer, _created = shop.customer_sync(
            telegram_id=user["id"], username=_text(user.get("username")), first_name=_text(user.get("first_name")),
            last_name=_text(user.get("last_name")), language_code=_text(user.get("language_code")))
        self._referral(customer, _text(data.get("start_param")))
        return MiniAppUser(customer, data), data

    @staticmethod
    def _referral(customer, start_param: str) -> None:
        match = REFERRAL.match(start_param)
        if match is None or customer.referred_by_id:
            return
        if cache.add(f"miniapp:ref:{customer.pk}:{match.group(1)}", 1, timeout=REFERRAL_TRIED_FOR):
            shop.customer_apply_referral(customer=customer, code=match.group(1))

    def authenticate_header(self, request):
        return SCHEME


class IsMiniAppCustomer(permissions.BasePermission):
    """A customer signed in by initData; nobody else (a staff user, a token, a session)."""

    def has_permission(self, request, view):
        return isinstance(request.user, MiniAppUser)


class CustomerThrottle(_CurrentRates, throttling.SimpleRateThrottle):
    """Each customer's calls, at the API's per-user rate (API_THROTTLE_USER)."""

    scope = "user"
    cache_format = "throttle_miniapp_%(ident)s"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, MiniAppUser):
            return None  # refused before: counted per address by AnonymousFirst
        return self.cache_format % {"ident": request.user.customer.pk}
