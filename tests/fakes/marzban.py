"""A fake Marzban / PasarGuard panel API: a real HTTP server on loopback.

One class, ``FakeMarzban(flavor="marzban" | "pasarguard")``. It answers the admin API the way
the real panels do (status codes, ``{"detail": ...}`` bodies, field names, the quirks below),
records every call, and has knobs to script faults (500, 502, a dropped connection, an answer
held past the client's timeout after the write was done), to take the panel down, to add
latency, to move its clock, to expire tokens and to switch off the panel's own expiry job.

Read from the source, not from the notes (``/work/shared/reference/panels.md`` 2.1 and 2.2):

* Marzban = ``Gozargah/Marzban`` master = tag v0.8.4 (2025-01-09, the last release):
  ``app/routers/{admin,user,system,subscription}.py``, ``app/models/{user,proxy,admin,system}.py``,
  ``app/dependencies.py``, ``app/db/crud.py``, ``app/db/models.py``, ``app/jobs/review_users.py``,
  ``app/utils/jwt.py``, ``app/__init__.py`` (the 422 handler), ``config.py``.
* PasarGuard = ``PasarGuard/panel`` main = v5.2.1 (2026-08-05): ``app/routers/{admin,user,group,
  system,authentication}.py``, ``app/routers/dependencies/{_common,user}.py``,
  ``app/models/{user,proxy,group,validators,system,admin,api_key}.py``, ``app/operation/{__init__,
  user,group,system}.py``, ``app/db/crud/user.py``, ``app/db/models.py``, ``app/jobs/review_users.py``,
  ``app/utils/jwt.py``, ``app/app_factory.py`` (the 422 handler), ``config.py``.

Where panels.md and the code disagree (the fake follows the code):

1. 422 bodies are NOT FastAPI's ``{"detail": [{loc, msg, type}]}``. Both panels install their own
   handler: ``{"detail": {<last loc part>: <msg>}}``, e.g. ``{"detail": {"username": "Value error,
   Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between."}}``.
2. Marzban ``proxies``: an explicit empty dict (or null) is a 422 ("Each user needs at least one
   proxy"), but an OMITTED ``proxies`` is not validated at all (pydantic v2 does not validate
   defaults; v0.7 had ``always=True``): the user row is created with no proxies and the answer is
   a 500 (the response model fails). From then on every answer that contains that user is a 500,
   including ``GET /api/users``. (Confirmed against a real panel in Ilmar7786/marzban-sdk PR #125.)
3. Marzban ``inbounds``: the "default = all inbounds of the protocol" happens only when the key is
   SENT (``{}`` or ``{"vless": []}``). An omitted ``inbounds`` skips the validator, and
   ``UserCreate.excluded_inbounds`` then excludes every inbound: the user has proxies but no
   inbounds (``inbounds: {"vless": []}``, ``links: []``). On PUT, ``{"vless": []}`` removes every
   vless inbound (no fill-in there).
4. "null/omitted = unchanged" on PUT is not true for every field. Marzban: ``"proxies": null`` is a
   500 (TypeError in the validator); ``"inbounds": null``, ``"status": null`` and
   ``"data_limit_reset_strategy": null`` are 422s; ``next_plan`` omitted or null DELETES the next
   plan (both panels). Sending ``proxies``/``proxy_settings`` without ids replaces the credentials
   (new UUIDs/passwords); PasarGuard fills every protocol not listed with new credentials.
   Marzban create: ``"inbounds": null`` is a 500, ``"status": null`` a 422.
5. Marzban usernames: the regex is ``^(?=\\w{3,32}\\b)[a-zA-Z0-9-_@.]+(?:_[a-zA-Z0-9-_@.]+)*$``:
   the first run of word characters must be 3-32 long ("ab.cd" is refused, "abc.d" accepted, and
   "abc-" + 40 more characters passes: the total length is not capped). Lookups are
   case-insensitive (``String(34, collation="NOCASE")``): "Bob" and "bob" collide with 409.
   PasarGuard: 3-128 characters, ``[a-zA-Z0-9-_@.]``, no two special characters in a row;
   case-sensitive.
6. PasarGuard has no "Protocol X is disabled on your server": every protocol's credentials are
   generated (``ProxyTable``: vmess, vless, trojan, shadowsocks, wireguard, hysteria), inbounds
   come from groups. ``group_ids`` given empty or null is a 422 "you must select at least one
   group"; an unknown group id is 404 "Group not found"; but an OMITTED ``group_ids`` creates a
   user in no group (no inbounds), same default-not-validated trap as Marzban's ``inbounds``.
   On PUT ``group_ids: []`` empties the groups (the docstring says "no change").
7. PasarGuard ``GET /api/inbounds`` is a flat list of tags; ``GET /api/inbounds/details`` gives
   ``[{tag, protocol, network}]``. Groups: ``GET /api/groups`` -> ``{"groups": [{name,
   inbound_tags, is_disabled, id, total_users}], "total"}``; ``POST /api/group`` -> 201.
8. PasarGuard's ``UserResponse`` has ``id``, ``edit_at``, ``group_ids``, ``hwid_limit``,
   ``proxy_settings``, but NOT ``group_names`` (``exclude=True``), and no ``links``/``inbounds``.
   ``expire``/``created_at``/``online_at`` are ISO datetimes with ``Z``; Marzban gives ``expire``
   as unix seconds and naive UTC datetimes (no offset) for ``created_at``/``online_at``.
   ``GET /api/users`` on PasarGuard leaves ``subscription_url`` empty unless ``load_sub=true``.
9. PasarGuard API keys (since v5.1.0): ``pg_key_<uuid4>``, sent as ``X-Api-Key: <key>`` or
   ``Authorization: ApiKey <key>`` (``Bearer <key>`` does not work). A missing or bad credential is
   401 "Could not validate credentials" on PasarGuard; Marzban answers a missing header with
   401 "Not authenticated" and a bad/expired token with "Could not validate credentials".
10. Marzban ``POST /reset`` re-activates a DISABLED (and an on_hold, a limited) user:
    ``status not in (expired or disabled)`` is a substring test against "expired". PasarGuard's
    reset only turns limited into active.
11. Both ``subscription_url`` forms are ``{prefix}/sub/{token}``, relative (``/sub/...``) when the
    prefix is unset (Marzban ``XRAY_SUBSCRIPTION_URL_PREFIX``, PasarGuard settings
    ``subscription.url_prefix`` or the admin's ``sub_domain``). The token embeds the second it
    was made, so the URL changes from one answer to the next (do not compare URLs to detect a
    revoke); a revoke invalidates tokens made before it (``GET /sub/<token>/info`` -> 404), except
    those made in the same second (the token's time is rounded up).
12. Paths: the username routes of PasarGuard are deprecated ("removed in v6.0.0; use by-id");
    ``/by-username/`` and ``/by-id/`` exist since v3.1.0, ``PUT .../disabled`` since v5.0.0.
    Marzban's next-plan path is ``/active-next``, PasarGuard's ``/active_next``.
13. Unlimited: Marzban stores ``expire``/``data_limit`` 0 as null and answers null. PasarGuard
    answers ``data_limit: 0`` after a create with 0 but null after a PUT with 0; ``expire`` 0 is
    null in both. PasarGuard's ``expire`` takes unix seconds or any ISO datetime (naive = UTC),
    its ``on_hold_timeout`` an ISO datetime or an int = seconds from now.
14. Status on PUT: Marzban sets ``status: active`` as sent; PasarGuard re-derives it when enabling
    a disabled user (expired / limited / on_hold / active, as ``PUT .../disabled`` false does).
    Both re-derive active/expired from a new ``expire`` and active/limited from a new
    ``data_limit``. Marzban's ``revoke_sub`` runs the same update, so it can flip an
    overdue "active" user to expired.
15. ``GET /api/users``: ``offset``/``limit`` on both; no ``limit`` or ``limit=0`` returns every user;
    without ``sort`` the order is the database's (id order); ``{"users": [...], "total": n}``
    where total counts the filtered users. Marzban ``status`` takes one value, PasarGuard repeats.

Modelled from the jobs (``enforce = True``, the default): before every request the fake runs the
panel's review job for the users that changed or fell due, as if the job ran with no delay (the
real job runs every ``JOB_REVIEW_USERS_INTERVAL``: 10 s on Marzban, 30 s on PasarGuard, so a real
panel reports "active" for up to that long after the expiry):
active -> limited (Marzban checks limited first) / expired (PasarGuard checks expired first),
a next plan is applied instead when there is one, on_hold -> active when the user came online
or ``on_hold_timeout`` passed. ``enforce = False`` models a panel whose job misses expiries
(panels.md section 3, item 4): stored statuses stay as they are; ``run_jobs()`` runs it once.
Not modelled: periodic data-limit resets, auto-delete, node usage, xray itself, role limits,
non-sudo admins, the subscription content (only ``/sub/<token>/info``). Marzban's ``links`` are
plausible share links built from the inbounds, not Marzban's exact strings. 422 messages for
plain type errors follow pydantic's wording but are not guaranteed word for word, and a
malformed JSON body is checked after the token (FastAPI checks it first).

Faults: ``fail_next(path_substring, kind, times=1, method=None)`` with kind ``"http500"``
(Starlette's plain-text 500, nothing done), ``"http502"`` (nginx's page, nothing done),
``"drop"`` (connection closed before acting), ``"timeout_after_act"`` (done, then the answer is
held ``hold_seconds`` and the connection closed), ``"drop_after_act"`` (done, connection closed),
``"http500_after_act"`` (done, then a 500). ``down = True`` resets every connection;
``latency`` adds seconds to every call.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import math
import re
import secrets
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.fakes.loopback import LoopbackServer, drop, reset

FLAVORS = ("marzban", "pasarguard")
VERSIONS = {"marzban": "0.8.4", "pasarguard": "5.2.1"}
MARZBAN_PROTOCOLS = ("vmess", "vless", "trojan", "shadowsocks")
PASARGUARD_PROTOCOLS = (*MARZBAN_PROTOCOLS, "wireguard", "hysteria")
STATUSES = ("active", "disabled", "limited", "expired", "on_hold")
RESET_STRATEGIES = ("no_reset", "day", "week", "month", "year")
XTLS_FLOWS = ("", "xtls-rprx-vision")
MARZBAN_SS_METHODS = ("aes-128-gcm", "aes-256-gcm", "chacha20-ietf-poly1305")
PASARGUARD_SS_METHODS = (*MARZBAN_SS_METHODS, "xchacha20-poly1305")
FAULT_KINDS = ("http500", "http502", "drop", "timeout_after_act", "drop_after_act", "http500_after_act")
MAX_ON_HOLD_EXPIRE_DURATION = 2_147_483_647

MARZBAN_USERNAME = re.compile(r"^(?=\w{3,32}\b)[a-zA-Z0-9-_@.]+(?:_[a-zA-Z0-9-_@.]+)*$")
MARZBAN_USERNAME_MSG = "Value error, Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between."
ONLINE_WINDOW = {"marzban": 24 * 3600, "pasarguard": 120}  # /api/system online_users
SERVER_ADDRESS = "203.0.113.10"  # what the default host's {SERVER_IP} becomes in the share links

INTERNAL_ERROR = (500, b"Internal Server Error", "text/plain; charset=utf-8")
BAD_GATEWAY = (502, b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
               "text/html")


_Server = LoopbackServer


@dataclass
class Call:
    method: str
    path: str
    query: dict
    body: object
    at: float
    status: int | None = None  # None: no answer was sent (down, dropped, held)
    headers: dict = field(default_factory=dict)


class _Invalid(ValueError):
    """A validation error inside a nested model: the 422 key is the last part of its location."""

    def __init__(self, loc: str, message: str):
        super().__init__(message)
        self.loc = loc


class _Err(Exception):
    """An answer other than success: JSON ``{"detail": ...}`` unless raw is given."""

    def __init__(self, status: int, detail=None, *, headers: dict | None = None, raw: tuple | None = None):
        super().__init__(status, detail)
        self.status, self.detail, self.headers, self.raw = status, detail, headers or {}, raw


def _internal_error():
    return _Err(500, raw=INTERNAL_ERROR)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _naive(ts: float | None) -> str | None:
    """Marzban: naive UTC datetimes (no offset), as pydantic prints them."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat()


def _aware(ts: float | None) -> str | None:
    """PasarGuard: aware UTC datetimes, pydantic prints the offset as Z."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _choices(values) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


# -- pydantic-like coercion: each returns the value or raises ValueError(message) -------------
def _as_int(value, *, ge: int | None = None, le: int | None = None) -> int:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("Input should be a valid integer, got a number with a fractional part")
        value = int(value)
    elif isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError("Input should be a valid integer, unable to parse string as an integer")
    elif not isinstance(value, int):
        raise ValueError("Input should be a valid integer")
    if ge is not None and value < ge:
        raise ValueError(f"Input should be greater than or equal to {ge}")
    if le is not None and value > le:
        raise ValueError(f"Input should be less than or equal to {le}")
    return value


def _as_timestamp(value) -> float:
    """A pydantic datetime: ISO text (naive = UTC), or unix seconds (ms above 2e10)."""
    if isinstance(value, bool):
        raise ValueError("Input should be a valid datetime")
    if isinstance(value, int | float):
        return value / 1000 if abs(value) > 2e10 else float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError("Input should be a valid datetime or date, invalid character in year")
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
        return number / 1000 if abs(number) > 2e10 else number
    raise ValueError("Input should be a valid datetime")


def _as_enum(value, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"Input should be {_choices(allowed)}")
    return value


def _as_str(value, *, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"String should have at most {max_length} characters")
    return value


def _as_uuid(value) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, AttributeError, TypeError):
        raise ValueError("Input should be a valid UUID, invalid character: expected an optional prefix of `urn:uuid:` "
                         "followed by [0-9a-fA-F-]")


def _password() -> str:
    return secrets.token_urlsafe(16)


class FakeMarzban:
    def __init__(self, *, flavor: str = "marzban", username: str = "admin", password: str = "admin-pass",
                 subscription_prefix: str | None = None, token_minutes: float = 1440, version: str | None = None):
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}")
        self.flavor = flavor
        self.username = username
        self.password = password
        self.subscription_prefix = subscription_prefix
        self.token_minutes = token_minutes
        self.version = version or VERSIONS[flavor]
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        # knobs
        self.enforce = True
        self.down = False
        self.latency = 0.0
        self.hold_seconds = 10.0
        self._faults: list[list] = []
        # state
        self._secret = secrets.token_hex(32)
        self._clock_offset = 0.0
        self._issued: dict[str, float] = {}
        self._api_keys: set[str] = set()
        self._inbounds: list[dict] = []
        self._groups: dict[int, dict] = {}
        self._group_ids = itertools.count(1)
        self._users: dict[str, dict] = {}
        self._by_id: dict[int, str] = {}
        self._user_ids = itertools.count(1)
        self._dirty: set[str] = set()
        self._due: list[tuple[float, int, str]] = []
        self._due_seq = itertools.count()
        self._stopping = threading.Event()
        server = _Server(("127.0.0.1", 0), self._handler_class())
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        # a short poll: stop() returns in milliseconds (tests make one panel each)
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    # -- control ------------------------------------------------------------------------------
    def stop(self):
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def now(self) -> float:
        """The panel's clock (unix seconds): real time moved by advance()."""
        return time.time() + self._clock_offset

    def advance(self, seconds: float):
        """Move the panel's clock: expiries, token lifetimes and on-hold timeouts see it."""
        with self.lock:
            self._clock_offset += seconds

    def expire_tokens(self):
        """Every access token issued so far stops working (401): the client must log in again."""
        with self.lock:
            self._issued.clear()

    def add_api_key(self) -> str:
        """PasarGuard: a new API key (send as X-Api-Key or Authorization: ApiKey <key>)."""
        key = f"pg_key_{uuid.uuid4()}"
        with self.lock:
            self._api_keys.add(key)
        return key

    def fail_next(self, path_substring: str, kind: str, times: int = 1, method: str | None = None):
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        with self.lock:
            self._faults.append([path_substring, kind, times, method.upper() if method else None])

    def add_inbound(self, protocol: str, tag: str, *, network: str = "tcp", tls: str = "none", port: int | None = None):
        allowed = MARZBAN_PROTOCOLS if self.flavor == "marzban" else PASARGUARD_PROTOCOLS
        if protocol not in allowed:
            raise ValueError(f"protocol must be one of {allowed}")
        with self.lock:
            if any(i["tag"] == tag for i in self._inbounds):
                raise ValueError(f"inbound {tag!r} exists")
            self._inbounds.append({"tag": tag, "protocol": protocol, "network": network, "tls": tls,
                                   "port": port if port is not None else 2000 + len(self._inbounds)})

    def add_group(self, name: str, inbound_tags: list[str], *, is_disabled: bool = False) -> int:
        """PasarGuard: a group of inbounds; returns its id."""
        with self.lock:
            unknown = [t for t in inbound_tags if t not in self._tags()]
            if unknown:
                raise ValueError(f"unknown inbound tags {unknown}")
            group_id = next(self._group_ids)
            self._groups[group_id] = {"name": name, "inbound_tags": list(inbound_tags), "is_disabled": is_disabled, "id": group_id}
            return group_id

    def add_user(self, username: str, *, status: str = "active", expire: float | None = None, data_limit: int | None = None,
                 used_traffic: int = 0, note: str | None = None, protocols: list[str] | None = None,
                 group_ids: list[int] | None = None, online_at: datetime | float | None = None) -> dict:
        """Put a user straight into the panel's database (no HTTP, no validation beyond the basics):
        for seeding many users. Marzban: proxies for ``protocols`` (default: every protocol with an
        inbound) on all their inbounds; PasarGuard: ``group_ids`` (default: every group)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self.lock:
            if self._find(username) is not None:
                raise ValueError(f"user {username!r} exists")
            rec = self._new_record(username)
            if expire is not None and self.flavor == "marzban":
                expire = int(expire)
            rec.update(status=status, expire=expire, data_limit=data_limit or None, used_traffic=used_traffic, note=note,
                       online_at=self._ts(online_at))
            if self.flavor == "marzban":
                chosen = protocols if protocols is not None else [p for p in MARZBAN_PROTOCOLS if self._inbounds_of(p)]
                rec["proxies"] = {p: self._mz_settings(p, {}) for p in chosen}
                rec["excluded"] = {p: [] for p in chosen}
            else:
                rec["proxy_settings"] = self._pg_proxy_table({})
                rec["group_ids"] = list(group_ids) if group_ids is not None else list(self._groups)
            self._store(rec)
            return self._present(rec, strict=False)

    def set_usage(self, username: str, used_bytes: int):
        with self.lock:
            rec = self._need(username)
            rec["used_traffic"] = int(used_bytes)
            self._touch(rec)

    def set_online(self, username: str, when: datetime | float | None):
        with self.lock:
            rec = self._need(username)
            rec["online_at"] = self._ts(when)
            self._touch(rec)

    def run_jobs(self):
        """Run the panel's review job once over every user, even with enforce off."""
        with self.lock:
            for key in list(self._users):
                self._review(self._users[key])
            self._dirty.clear()
            self._due.clear()
            for rec in self._users.values():
                self._push_due(rec)

    # -- queries ------------------------------------------------------------------------------
    def user(self, username: str) -> dict | None:
        """The user as the API would show it (after the review job when enforce is on)."""
        with self.lock:
            self._maybe_review()
            rec = self._find(username)
            return None if rec is None else self._present(rec, strict=False)

    def users(self) -> list[dict]:
        with self.lock:
            self._maybe_review()
            return [self._present(rec, strict=False) for rec in self._users.values()]

    def count_calls(self, path_substring: str = "", method: str | None = None) -> int:
        with self.lock:
            return sum(1 for c in self.calls if path_substring in c.path and (method is None or c.method == method.upper()))

    def calls_to(self, path_substring: str = "", method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if path_substring in c.path and (method is None or c.method == method.upper())]

    # -- state helpers ------------------------------------------------------------------------
    @staticmethod
    def _ts(value) -> float | None:
        if value is None or isinstance(value, int | float):
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()

    def _key(self, username: str) -> str:
        return username.lower() if self.flavor == "marzban" else username

    def _find(self, username: str) -> dict | None:
        return self._users.get(self._key(username))

    def _need(self, username: str) -> dict:
        rec = self._find(username)
        if rec is None:
            raise KeyError(username)
        return rec

    def _tags(self) -> list[str]:
        return [i["tag"] for i in self._inbounds]

    def _inbounds_of(self, protocol: str) -> list[dict]:
        return [i for i in self._inbounds if i["protocol"] == protocol]

    def _new_record(self, username: str) -> dict:
        now = self.now()
        return {"id": next(self._user_ids), "username": username, "status": "active", "used_traffic": 0, "reset_total": 0,
                "data_limit": None, "data_limit_reset_strategy": "no_reset", "expire": None, "note": None,
                "created_at": now, "edit_at": None, "online_at": None, "sub_revoked_at": None, "sub_updated_at": None,
                "sub_last_user_agent": None, "on_hold_expire_duration": None, "on_hold_timeout": None,
                "auto_delete_in_days": None, "next_plan": None, "last_status_change": now,
                "proxies": {}, "excluded": {}, "proxy_settings": {}, "group_ids": [], "hwid_limit": None}

    def _store(self, rec: dict):
        self._users[self._key(rec["username"])] = rec
        self._by_id[rec["id"]] = self._key(rec["username"])
        self._touch(rec)

    def _touch(self, rec: dict):
        self._dirty.add(self._key(rec["username"]))
        self._push_due(rec)

    def _push_due(self, rec: dict):
        if rec["status"] == "active" and rec["expire"]:
            due = rec["expire"]
        elif rec["status"] == "on_hold" and rec["on_hold_timeout"]:
            due = rec["on_hold_timeout"]
        else:
            return
        heapq.heappush(self._due, (due, next(self._due_seq), self._key(rec["username"])))

    def _set_status(self, rec: dict, status: str):
        if rec["status"] != status:
            rec["last_status_change"] = self.now()
        rec["status"] = status

    # -- the review job (app/jobs/review_users.py of each panel) ---------------------------------
    def _maybe_review(self):
        if not self.enforce:
            return
        now = self.now()
        keys = set(self._dirty)
        self._dirty.clear()
        while self._due and self._due[0][0] <= now:
            keys.add(heapq.heappop(self._due)[2])
        for key in keys:
            rec = self._users.get(key)
            if rec is not None:
                self._review(rec)

    def _review(self, rec: dict):
        now = self.now()
        if rec["status"] == "active":
            limited = bool(rec["data_limit"]) and rec["used_traffic"] >= rec["data_limit"]
            expired = bool(rec["expire"]) and rec["expire"] <= now
            if not (limited or expired):
                return
            if self.flavor == "marzban":
                plan = rec["next_plan"]
                if plan is not None and (plan["fire_on_either"] or (limited and expired)):
                    self._mz_apply_next_plan(rec)
                    self._push_due(rec)
                    return
                self._set_status(rec, "limited" if limited else "expired")
            else:
                self._set_status(rec, "expired" if expired else "limited")
                if rec["next_plan"] is not None:
                    self._pg_apply_next_plan(rec)
            self._push_due(rec)
        elif rec["status"] == "on_hold":
            base = rec["edit_at"] or rec["created_at"]
            online = rec["online_at"] is not None and rec["online_at"] >= base
            timed_out = rec["on_hold_timeout"] is not None and rec["on_hold_timeout"] <= now
            if self.flavor == "pasarguard" and rec["online_at"] is not None:
                timed_out = False  # User.become_online in SQL: the timeout counts only while online_at is NULL
            if not (online or timed_out):
                return
            self._set_status(rec, "active")
            duration = rec["on_hold_expire_duration"]
            if self.flavor == "marzban":
                rec["expire"] = int(now) + (duration or 0)  # crud.start_user_expire
            else:
                rec["expire"] = now + duration if duration else None  # crud.start_users_expire
            rec["on_hold_expire_duration"] = None
            rec["on_hold_timeout"] = None
            self._push_due(rec)

    def _log_reset(self, rec: dict):
        rec["reset_total"] += rec["used_traffic"]
        rec["used_traffic"] = 0

    def _mz_apply_next_plan(self, rec: dict):
        # crud.reset_user_by_next, v0.8.4, including its inverted add_remaining_traffic and the
        # next plan's expire taken as an absolute timestamp
        plan = rec["next_plan"]
        remaining = (rec["data_limit"] or 0) - rec["used_traffic"]
        rec["data_limit"] = (plan["data_limit"] or 0) + (0 if plan["add_remaining_traffic"] else remaining)
        rec["expire"] = plan["expire"]
        self._log_reset(rec)
        self._set_status(rec, "active")
        rec["next_plan"] = None

    def _pg_apply_next_plan(self, rec: dict):
        plan = rec["next_plan"]
        remaining = (rec["data_limit"] or 0) - rec["used_traffic"]
        rec["data_limit"] = (plan["data_limit"] or 0) + (remaining if plan["add_remaining_traffic"] else 0)
        rec["expire"] = self.now() + plan["expire"] if plan["expire"] else None
        self._log_reset(rec)
        self._set_status(rec, "active")
        rec["next_plan"] = None

    # -- presentation ---------------------------------------------------------------------------
    def _present(self, rec: dict, *, strict: bool = True, with_sub: bool = True) -> dict:
        if self.flavor == "marzban":
            return self._mz_present(rec, strict=strict)
        return self._pg_present(rec, with_sub=with_sub)

    def _sub_prefix(self) -> str:
        prefix = (self.subscription_prefix or "").strip("/")
        return prefix.replace("*", secrets.token_hex(8))

    def _sub_token(self, rec: dict) -> str:
        stamp = str(math.ceil(self.now()))
        if self.flavor == "marzban":
            data = _b64url(f"{rec['username']},{stamp}".encode())
            signature = base64.urlsafe_b64encode(hashlib.sha256((data + self._secret).encode()).digest()).decode()[:10]
            return data + signature
        data = _b64url(f"v3,{rec['id']},{stamp}".encode())
        return data + "." + _b64url(hmac.new(self._secret.encode(), data.encode(), hashlib.sha256).digest())

    def _user_from_sub_token(self, token: str) -> dict | None:
        try:
            if self.flavor == "marzban":
                data, signature = token[:-10], token[-10:]
                expected = base64.urlsafe_b64encode(hashlib.sha256((data + self._secret).encode()).digest()).decode()[:10]
                username, stamp = _b64url_decode(data).decode().rsplit(",", 1)
                rec = self._find(username) if hmac.compare_digest(signature, expected) else None
            else:
                data, _, signature = token.rpartition(".")
                expected = _b64url(hmac.new(self._secret.encode(), data.encode(), hashlib.sha256).digest())
                _, user_id, stamp = _b64url_decode(data).decode().split(",")
                key = self._by_id.get(int(user_id)) if hmac.compare_digest(signature, expected) else None
                rec = self._users.get(key) if key else None
        except (ValueError, UnicodeDecodeError):
            return None
        if rec is None or rec["created_at"] > int(stamp) or (rec["sub_revoked_at"] and rec["sub_revoked_at"] > int(stamp)):
            return None
        return rec

    def _mz_links(self, rec: dict, inbounds: dict) -> list[str]:
        links = []
        for protocol, tags in inbounds.items():
            settings = rec["proxies"].get(protocol, {})
            for inbound in self._inbounds_of(protocol):
                if inbound["tag"] not in tags:
                    continue
                net, tls, port = inbound["network"], inbound["tls"], inbound["port"]
                remark = quote(f"🚀 Marz ({rec['username']}) [{protocol.upper()} - {net}]")
                if protocol == "vmess":
                    body = {"add": SERVER_ADDRESS, "aid": "0", "host": "", "id": settings["id"], "net": net, "path": "",
                            "port": port, "ps": f"🚀 Marz ({rec['username']}) [VMess - {net}]", "scy": "auto",
                            "tls": tls if tls != "none" else "", "type": "none", "v": "2"}
                    links.append("vmess://" + base64.b64encode(json.dumps(body).encode()).decode())
                elif protocol == "vless":
                    links.append(f"vless://{settings['id']}@{SERVER_ADDRESS}:{port}?security={tls}&type={net}"
                                 f"&headerType=&flow={settings.get('flow', '')}#{remark}")
                elif protocol == "trojan":
                    links.append(f"trojan://{quote(settings['password'], safe='')}@{SERVER_ADDRESS}:{port}"
                                 f"?security={tls}&type={net}&headerType=#{remark}")
                else:
                    userinfo = base64.b64encode(f"{settings['method']}:{settings['password']}".encode()).decode()
                    links.append(f"ss://{userinfo}@{SERVER_ADDRESS}:{port}#{remark}")
        return links

    def _mz_present(self, rec: dict, *, strict: bool) -> dict:
        if strict and not rec["proxies"]:
            raise _internal_error()  # UserResponse.validate_proxies: "Each user needs at least one proxy"
        inbounds = {p: [i["tag"] for i in self._inbounds_of(p) if i["tag"] not in rec["excluded"].get(p, [])]
                    for p in rec["proxies"]}
        return {
            "proxies": {p: dict(settings) for p, settings in rec["proxies"].items()},
            "expire": rec["expire"],
            "data_limit": rec["data_limit"],
            "data_limit_reset_strategy": rec["data_limit_reset_strategy"],
            "inbounds": inbounds,
            "note": rec["note"],
            "sub_updated_at": _naive(rec["sub_updated_at"]),
            "sub_last_user_agent": rec["sub_last_user_agent"],
            "online_at": _naive(rec["online_at"]),
            "on_hold_expire_duration": rec["on_hold_expire_duration"],
            "on_hold_timeout": _naive(rec["on_hold_timeout"]),
            "auto_delete_in_days": rec["auto_delete_in_days"],
            "next_plan": dict(rec["next_plan"]) if rec["next_plan"] else None,
            "username": rec["username"],
            "status": rec["status"],
            "used_traffic": rec["used_traffic"],
            "lifetime_used_traffic": rec["reset_total"] + rec["used_traffic"],
            "created_at": _naive(rec["created_at"]),
            "links": self._mz_links(rec, inbounds),
            "subscription_url": f"{self._sub_prefix()}/sub/{self._sub_token(rec)}",
            "excluded_inbounds": {p: list(rec["excluded"].get(p, [])) for p in rec["proxies"]},
            "admin": {"username": self.username, "is_sudo": True, "telegram_id": None, "discord_webhook": None,
                      "users_usage": 0},
        }

    def _pg_present(self, rec: dict, *, with_sub: bool) -> dict:
        return {
            "proxy_settings": {p: {k: list(v) if isinstance(v, list) else v for k, v in settings.items()}
                               for p, settings in rec["proxy_settings"].items()},
            "expire": _aware(rec["expire"]),
            "data_limit": rec["data_limit"],
            "data_limit_reset_strategy": rec["data_limit_reset_strategy"],
            "note": rec["note"],
            "on_hold_expire_duration": rec["on_hold_expire_duration"],
            "on_hold_timeout": _aware(rec["on_hold_timeout"]),
            "group_ids": list(rec["group_ids"]),
            "auto_delete_in_days": rec["auto_delete_in_days"],
            "hwid_limit": rec["hwid_limit"],
            "next_plan": dict(rec["next_plan"]) if rec["next_plan"] else None,
            "id": rec["id"],
            "username": rec["username"],
            "status": rec["status"],
            "used_traffic": rec["used_traffic"],
            "lifetime_used_traffic": rec["reset_total"] + rec["used_traffic"],
            "created_at": _aware(rec["created_at"]),
            "edit_at": _aware(rec["edit_at"]),
            "online_at": _aware(rec["online_at"]),
            "subscription_url": f"{self._sub_prefix()}/sub/{self._sub_token(rec)}" if with_sub else "",
            "admin": {"id": 1, "username": self.username},
        }

    # -- proxy settings -------------------------------------------------------------------------
    def _mz_settings(self, protocol: str, given) -> dict:
        """ProxySettings.from_dict: defaults filled, values checked (ValueError on a bad one)."""
        if not isinstance(given, dict):
            raise ValueError(f"1 validation error for {protocol.capitalize()}Settings\n  Input should be a valid dictionary")
        if protocol in ("vmess", "vless"):
            settings = {"id": _as_uuid(given["id"]) if given.get("id") is not None else str(uuid.uuid4())}
            if protocol == "vless":
                settings["flow"] = _as_enum(given.get("flow", ""), XTLS_FLOWS)
            return settings
        password = given.get("password")
        password = _as_str(password) if password is not None else _password()
        if protocol == "trojan":
            return {"password": password, "flow": _as_enum(given.get("flow", ""), XTLS_FLOWS)}
        return {"password": password, "method": _as_enum(given.get("method", "chacha20-ietf-poly1305"), MARZBAN_SS_METHODS)}

    @staticmethod
    def _pg_proxy_table(given: dict, *, keep_method: str | None = None) -> dict:
        """ProxyTable: every protocol; the given values checked (the 422 key is the nested field's
        name, e.g. "id" or "password"), the missing ones generated."""
        def part(name):
            value = given.get(name, {})
            if not isinstance(value, dict):
                raise _Invalid(name, f"Input should be a valid dictionary or instance of {name.capitalize()}Settings")
            return value

        def nested(loc, fn, *args):
            try:
                return fn(*args)
            except ValueError as exc:
                raise _Invalid(loc, str(exc))

        vmess, vless, trojan, ss, wg, hy = (part(n) for n in PASARGUARD_PROTOCOLS)
        ss_password = nested("password", _as_str, ss["password"]) if "password" in ss else secrets.token_urlsafe(24)
        if len(ss_password) < 22:
            raise _Invalid("password", "String should have at least 22 characters")
        return {
            "vmess": {"id": nested("id", _as_uuid, vmess["id"]) if "id" in vmess else str(uuid.uuid4())},
            "vless": {"id": nested("id", _as_uuid, vless["id"]) if "id" in vless else str(uuid.uuid4())},
            "trojan": {"password": nested("password", _as_str, trojan["password"]) if "password" in trojan
                       else secrets.token_urlsafe(24)},
            "shadowsocks": {"password": ss_password,
                            "method": nested("method", _as_enum, ss.get("method", keep_method or "chacha20-ietf-poly1305"),
                                             PASARGUARD_SS_METHODS)},
            "wireguard": {"private_key": wg.get("private_key"), "public_key": wg.get("public_key"), "peer_ips": []},
            "hysteria": {"auth": nested("auth", _as_str, hy["auth"]) if "auth" in hy else secrets.token_urlsafe(24)},
        }

    # -- auth ---------------------------------------------------------------------------------
    def _jwt(self, payload: dict) -> str:
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signature = _b64url(hmac.new(self._secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest())
        return f"{header}.{body}.{signature}"

    def _token_ok(self, token: str) -> bool:
        parts = token.split(".")
        if len(parts) != 3 or token not in self._issued:
            return False
        expected = _b64url(hmac.new(self._secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return False
        payload = json.loads(_b64url_decode(parts[1]))
        leeway = 5 if self.flavor == "pasarguard" else 0  # jwt.decode(..., leeway=5)
        if "exp" in payload and payload["exp"] <= self.now() - leeway:
            return False
        return payload.get("sub") == self.username and payload.get("access") in ("admin", "sudo")

    def _authenticate(self, req: _Request):
        www = {"WWW-Authenticate": "Bearer"}
        scheme, _, credentials = req.headers.get("Authorization", "").partition(" ")
        token = credentials if scheme.lower() == "bearer" and credentials else None
        if self.flavor == "marzban":
            if token is None:
                raise _Err(401, "Not authenticated", headers=www)
            if not self._token_ok(token):
                raise _Err(401, "Could not validate credentials", headers=www)
            return
        if token is not None and self._token_ok(token):
            return
        key = req.headers.get("X-Api-Key")
        if key is None and scheme.lower() == "apikey":
            key = credentials
        if key and key.strip() in self._api_keys:
            return
        raise _Err(401, "Could not validate credentials", headers=www)

    def _login(self, req: _Request):
        form = req.form()
        errors = {}
        for name in ("username", "password"):
            if name not in form:
                errors[name] = "Field required"
        if "grant_type" in form and form["grant_type"] != "password":
            errors["grant_type"] = "String should match pattern '^password$'"
        if errors:
            raise _Err(422, errors)
        if form["username"] != self.username or form["password"] != self.password:
            raise _Err(401, "Incorrect username or password", headers={"WWW-Authenticate": "Bearer"})
        now = int(self.now())
        payload = {"sub": self.username, "access": "sudo" if self.flavor == "marzban" else "admin", "iat": now}
        if self.flavor == "pasarguard":
            payload["aid"] = 1
        if self.token_minutes > 0:
            payload["exp"] = int(now + self.token_minutes * 60)
        token = self._jwt(payload)
        self._issued[token] = now
        return 200, {"access_token": token, "token_type": "bearer"}

    # -- routes -------------------------------------------------------------------------------
    def _routes(self):
        u = "[^/]+"
        if self.flavor == "marzban":
            return [
                ("POST", "/api/admin/token", self._login, False),
                ("GET", "/api/admin", self._get_admin, True),
                ("GET", "/api/system", self._system, True),
                ("GET", "/api/inbounds", self._mz_inbounds, True),
                ("POST", "/api/user", self._mz_create, True),
                ("GET", f"/api/user/(?P<username>{u})", self._get_user, True),
                ("PUT", f"/api/user/(?P<username>{u})", self._mz_modify, True),
                ("DELETE", f"/api/user/(?P<username>{u})", self._delete_user, True),
                ("POST", f"/api/user/(?P<username>{u})/reset", self._reset_user, True),
                ("POST", f"/api/user/(?P<username>{u})/revoke_sub", self._revoke_sub, True),
                ("POST", f"/api/user/(?P<username>{u})/active-next", self._active_next, True),
                ("GET", "/api/users", self._mz_list, True),
                ("GET", f"/sub/(?P<token>{u})/info", self._sub_info, False),
            ]
        routes = [
            ("POST", "/api/admin/token", self._login, False),
            ("GET", "/api/admin", self._get_admin, True),
            ("GET", "/api/system", self._system, True),
            ("GET", "/api/inbounds", self._pg_inbounds, True),
            ("GET", "/api/inbounds/details", self._pg_inbound_details, True),
            ("POST", "/api/group", self._pg_create_group, True),
            ("GET", "/api/groups", self._pg_groups, True),
            ("GET", r"/api/group/(?P<group_id>[^/]+)", self._pg_group, True),
            ("POST", "/api/user", self._pg_create, True),
        ]
        # the order of app/routers/user.py: the first route that matches wins
        for verb, suffix, handler in (("PUT", "", self._pg_modify), ("PUT", "/disabled", self._pg_disabled),
                                      ("DELETE", "", self._delete_user), ("POST", "/reset", self._reset_user),
                                      ("POST", "/revoke_sub", self._revoke_sub), ("POST", "/active_next", self._active_next),
                                      ("GET", "", self._get_user)):
            routes += [(verb, f"/api/user/(?P<username>{u}){suffix}", handler, True),
                       (verb, f"/api/user/by-username/(?P<username>{u}){suffix}", handler, True),
                       (verb, f"/api/user/by-id/(?P<user_id>{u}){suffix}", handler, True)]
        routes += [("GET", "/api/users", self._pg_list, True),
                   ("GET", f"/sub/(?P<token>{u})/info", self._sub_info, False)]
        return routes

    def _dispatch(self, req: _Request) -> tuple[int, object, dict]:
        """Find the route (Starlette's rules: first full match, else 405, else a slash redirect,
        else 404) and run it under the lock."""
        partial = False
        for method, pattern, handler, needs_auth in self._compiled:
            match = pattern.fullmatch(req.path)
            if not match:
                continue
            if method != req.method:
                partial = True
                continue
            with self.lock:
                try:
                    if needs_auth:
                        self._authenticate(req)
                        self._maybe_review()
                    result = handler(req, **match.groupdict())
                except _Err as err:
                    return err.status, err, err.headers
            status, payload = result[0], result[1]
            return status, payload, {}
        if partial:
            return 405, _Err(405, "Method Not Allowed"), {}
        if req.path.endswith("/") and req.path != "/":
            trimmed = req.path.rstrip("/")
            if any(p.fullmatch(trimmed) for _, p, _, _ in self._compiled):
                return 307, None, {"Location": f"{self.url}{trimmed}" + (f"?{req.query_string}" if req.query_string else "")}
        return 404, _Err(404, "Not Found"), {}

    # -- endpoints shared ----------------------------------------------------------------------
    def _get_admin(self, req):
        if self.flavor == "marzban":
            return 200, {"username": self.username, "is_sudo": True, "telegram_id": None, "discord_webhook": None,
                         "users_usage": 0}
        return 200, {"id": 1, "username": self.username, "telegram_id": None, "discord_webhook": None, "sub_domain": None,
                     "profile_title": None, "support_url": None, "custom_variables": [], "notification_enable": None,
                     "total_users": len(self._users), "used_traffic": 0, "data_limit": None, "status": "active",
                     "sub_template": None, "lifetime_used_traffic": None, "note": None, "role": None,
                     "permission_overrides": None, "is_disabled": False, "is_limited": False}

    def _system(self, req):
        counts = dict.fromkeys(STATUSES, 0)
        online = 0
        horizon = self.now() - ONLINE_WINDOW[self.flavor]
        for rec in self._users.values():
            counts[rec["status"]] += 1
            online += rec["online_at"] is not None and rec["online_at"] >= horizon
        common = {"version": self.version, "mem_total": 8_589_934_592, "mem_used": 2_147_483_648, "cpu_cores": 4,
                  "cpu_usage": 3.5, "total_user": len(self._users), "online_users": online}
        if self.flavor == "marzban":
            return 200, {**common, "users_active": counts["active"], "users_on_hold": counts["on_hold"],
                         "users_disabled": counts["disabled"], "users_expired": counts["expired"],
                         "users_limited": counts["limited"], "incoming_bandwidth": 0, "outgoing_bandwidth": 0,
                         "incoming_bandwidth_speed": 0, "outgoing_bandwidth_speed": 0}
        return 200, {"version": self.version, "uptime_seconds": 86_400, "mem_total": common["mem_total"],
                     "mem_used": common["mem_used"], "disk_total": 53_687_091_200, "disk_used": 10_737_418_240,
                     "cpu_cores": 4, "cpu_usage": 3.5, "total_user": len(self._users), "online_users": online,
                     "active_users": counts["active"], "on_hold_users": counts["on_hold"],
                     "disabled_users": counts["disabled"], "expired_users": counts["expired"],
                     "limited_users": counts["limited"], "incoming_bandwidth": 0, "outgoing_bandwidth": 0}

    def _locate(self, username: str | None = None, user_id: str | None = None) -> dict:
        if user_id is not None:
            try:
                number = _as_int(user_id)
            except ValueError as exc:
                raise _Err(422, {"user_id": str(exc)})
            key = self._by_id.get(number)
            rec = self._users.get(key) if key else None
        else:
            rec = self._find(username)
        if rec is None:
            raise _Err(404, "User not found")
        return rec

    def _get_user(self, req, username=None, user_id=None):
        return 200, self._present(self._locate(username, user_id))

    def _delete_user(self, req, username=None, user_id=None):
        rec = self._locate(username, user_id)
        del self._users[self._key(rec["username"])]
        del self._by_id[rec["id"]]
        if self.flavor == "marzban":
            return 200, {"detail": "User successfully deleted"}
        return 204, None

    def _reset_user(self, req, username=None, user_id=None):
        rec = self._locate(username, user_id)
        self._log_reset(rec)
        if self.flavor == "marzban":
            # `status not in (UserStatus.expired or UserStatus.disabled)` is `not in "expired"`
            if rec["status"] not in "expired":
                self._set_status(rec, "active")
        elif rec["status"] == "limited":
            self._set_status(rec, "active")
        rec["next_plan"] = None
        self._touch(rec)
        return 200, self._present(rec)

    def _revoke_sub(self, req, username=None, user_id=None):
        rec = self._locate(username, user_id)
        if self.flavor == "marzban" and not rec["proxies"]:
            raise _internal_error()  # UserResponse.model_validate fails before anything is committed
        rec["sub_revoked_at"] = self.now()
        if self.flavor == "marzban":
            for settings in rec["proxies"].values():
                if "id" in settings:
                    settings["id"] = str(uuid.uuid4())
                else:
                    settings["password"] = _password()
            # crud.revoke_user_sub then runs update_user with the whole UserResponse: the status
            # is derived again from data_limit and expire, and edit_at moves
            self._mz_apply(rec, {"status": rec["status"], "data_limit": rec["data_limit"], "expire": rec["expire"],
                                 "note": rec["note"], "next_plan": rec["next_plan"]})
        else:
            method = rec["proxy_settings"].get("shadowsocks", {}).get("method")
            rec["proxy_settings"] = self._pg_proxy_table({}, keep_method=method)
        self._touch(rec)
        return 200, self._present(rec)

    def _active_next(self, req, username=None, user_id=None):
        rec = self._locate(username, user_id)
        if rec["next_plan"] is None:
            raise _Err(404, "User doesn't have next plan")
        if self.flavor == "marzban":
            self._mz_apply_next_plan(rec)
        else:
            self._pg_apply_next_plan(rec)
        self._touch(rec)
        return 200, self._present(rec)

    def _sub_info(self, req, token):
        rec = self._user_from_sub_token(token)
        if rec is None:
            raise _Err(404, "Not Found")
        self._maybe_review()
        user = self._present(rec)
        for hidden in ("admin", "note", "auto_delete_in_days", "excluded_inbounds", "inbounds") if self.flavor == "marzban" \
                else ("admin", "note", "auto_delete_in_days", "subscription_url"):
            user.pop(hidden, None)
        return 200, user

    def _paging(self, req) -> tuple[int, int | None]:
        errors = {}
        values = {}
        for name in ("offset", "limit"):
            raw = req.query.get(name)
            if raw:
                try:
                    values[name] = _as_int(raw[-1])
                except ValueError as exc:
                    errors[name] = str(exc)
        if errors:
            raise _Err(422, errors)
        # `if offset: query.offset(offset)` / `if limit: query.limit(limit)`: 0 means none
        limit = values.get("limit")
        return max(values.get("offset") or 0, 0), (limit if limit and limit > 0 else None)

    @staticmethod
    def _sort_key(option: str):
        name = option.lstrip("-")

        def key(rec):  # NULLs sort first, as in SQLite and MySQL
            value = rec.get(name)
            return (value is not None, value if value is not None else 0)
        return key

    def _apply_sort(self, records: list, options: list[str]) -> list:
        for option in reversed(options):
            records.sort(key=self._sort_key(option), reverse=option.startswith("-"))
        return records

    # -- Marzban endpoints ------------------------------------------------------------------------
    def _mz_inbounds(self, req):
        grouped = {}
        for inbound in self._inbounds:
            grouped.setdefault(inbound["protocol"], []).append(dict(inbound))
        return 200, grouped

    def _mz_list(self, req):
        offset, limit = self._paging(req)
        status = req.query.get("status", [None])[-1]
        if status is not None and status not in STATUSES:
            raise _Err(422, {"status": f"Input should be {_choices(STATUSES)}"})
        sort = req.query.get("sort", [None])[-1]
        options = []
        if sort is not None:
            for opt in sort.strip(",").split(","):
                if opt.lstrip("-") not in ("username", "used_traffic", "data_limit", "expire", "created_at") or opt.startswith("--"):
                    raise _Err(400, f'"{opt}" is not a valid sort option')
                options.append(opt)
        names = {n.lower() for n in req.query.get("username", [])}
        search = (req.query.get("search", [""])[-1] or "").lower()
        records = [r for r in self._users.values()
                   if (not names or r["username"].lower() in names)
                   and (status is None or r["status"] == status)
                   and (not search or search in r["username"].lower() or search in (r["note"] or "").lower())]
        total = len(records)
        self._apply_sort(records, options)
        page = records[offset:offset + limit] if limit else records[offset:]
        return 200, {"users": [self._present(r) for r in page], "total": total}

    def _mz_validate(self, body, *, create: bool) -> dict:
        """UserCreate / UserModify: the fields present in the body, cleaned; 422 (or 500) on errors.
        The order is the model's field order (validators read the fields validated before them)."""
        if not isinstance(body, dict):
            raise _Err(422, {"body": "Input should be a valid dictionary or object to extract fields from"
                                     if body is not None else "Field required"})
        errors, data = {}, {}

        def check(name, fn):
            if name in body:
                try:
                    data[name] = fn(body[name])
                except ValueError as exc:
                    errors[getattr(exc, "loc", name)] = str(exc)

        def proxies(v):
            if create and not v:
                raise ValueError("Value error, Each user needs at least one proxy")
            if not isinstance(v, dict):
                raise _internal_error()  # the validators call v.get / iterate None: a TypeError, not a 422
            cleaned = {}
            for protocol, settings in v.items():
                if protocol not in MARZBAN_PROTOCOLS:
                    raise ValueError(f"Value error, '{protocol}' is not a valid ProxyTypes")
                try:
                    cleaned[protocol] = self._mz_settings(protocol, settings)
                except ValueError as exc:
                    raise ValueError(f"Value error, {exc}")
            return cleaned

        def data_limit(v):
            if v is None:
                return None
            if isinstance(v, str):
                raise ValueError("Value error, data_limit must be an integer or a float, not a string")
            return _as_int(int(v) if isinstance(v, float) else v, ge=0)

        def inbounds(v):
            if not isinstance(v, dict) and (create or v):
                raise _internal_error()  # validate_inbounds calls v.copy() / v.items(): not a 422
            if create:
                chosen = data.get("proxies", {})
                v = {p: tags for p, tags in v.items() if p in chosen}
                for protocol in chosen:
                    tags = v.get(protocol)
                    if tags:
                        for tag in tags:
                            if tag not in self._tags():
                                raise ValueError(f"Value error, Inbound {tag} doesn't exist")
                    else:
                        v[protocol] = [i["tag"] for i in self._inbounds_of(protocol)]
            elif v:
                for tags in v.values():
                    if not isinstance(tags, list):
                        raise _internal_error()  # `for tag in tags` on a non-list
                    for tag in tags:
                        if tag not in self._tags():
                            raise ValueError(f"Value error, Inbound {tag} doesn't exist")
            if not isinstance(v, dict):
                raise ValueError("Input should be a valid dictionary")
            for protocol, tags in v.items():
                if protocol not in MARZBAN_PROTOCOLS:
                    raise ValueError(f"Input should be {_choices(MARZBAN_PROTOCOLS)}")
                if not isinstance(tags, list):
                    raise ValueError("Input should be a valid list")
            return v

        def note(v):
            if v is None:
                return None
            v = _as_str(v)
            if len(v) > 500:
                raise ValueError("Value error, User's note can be a maximum of 500 character")
            return v

        def zero_none_int(v):
            return None if v in (0, None) else _as_int(v)

        def timeout(v):
            return None if v in (0, None) else _as_timestamp(v)

        def next_plan(v):
            if v is None:
                return None
            if not isinstance(v, dict):
                raise ValueError("Input should be a valid dictionary or instance of NextPlanModel")
            return {"data_limit": _as_int(v["data_limit"]) if v.get("data_limit") is not None else None,
                    "expire": _as_int(v["expire"]) if v.get("expire") is not None else None,
                    "add_remaining_traffic": bool(v.get("add_remaining_traffic", False)),
                    "fire_on_either": bool(v.get("fire_on_either", True))}

        def username(v):
            v = _as_str(v)
            if not MARZBAN_USERNAME.match(v):
                raise ValueError(MARZBAN_USERNAME_MSG)
            return v

        def status(v):
            allowed = ("active", "on_hold") if create else ("active", "disabled", "on_hold")
            if v == "on_hold":
                if not data.get("on_hold_expire_duration"):
                    raise ValueError("Value error, User cannot be on hold without a valid on_hold_expire_duration.")
                if data.get("expire"):
                    raise ValueError("Value error, User cannot be on hold with specified expire.")
            return _as_enum(v, allowed)

        check("proxies", proxies)
        check("expire", lambda v: None if v is None else _as_int(v))
        check("data_limit", data_limit)
        check("data_limit_reset_strategy", lambda v: _as_enum(v, RESET_STRATEGIES))
        check("inbounds", inbounds)
        check("note", note)
        check("on_hold_expire_duration", zero_none_int)
        check("on_hold_timeout", timeout)
        check("auto_delete_in_days", lambda v: None if v is None else _as_int(v))
        check("next_plan", next_plan)
        if create:
            if "username" not in body:
                errors["username"] = "Field required"
            check("username", username)
        check("status", status)
        if errors:
            raise _Err(422, errors)
        return data

    def _mz_check_protocols(self, proxies: dict):
        for protocol in proxies:
            if not self._inbounds_of(protocol):
                raise _Err(400, f"Protocol {protocol} is disabled on your server")

    def _mz_create(self, req):
        data = self._mz_validate(req.json(), create=True)
        self._mz_check_protocols(data.get("proxies", {}))
        if self._find(data["username"]) is not None:
            raise _Err(409, "User already exists")
        rec = self._new_record(data["username"])
        rec["proxies"] = data.get("proxies", {})
        given = data.get("inbounds", {})  # omitted: every inbound is excluded (see the docstring)
        rec["excluded"] = {p: [i["tag"] for i in self._inbounds_of(p) if i["tag"] not in given.get(p, [])]
                           for p in rec["proxies"]}
        rec.update(status=data.get("status") or "active", data_limit=data.get("data_limit") or None,
                   expire=data.get("expire") or None, note=data.get("note"),
                   data_limit_reset_strategy=data.get("data_limit_reset_strategy", "no_reset"),
                   on_hold_expire_duration=data.get("on_hold_expire_duration"),
                   on_hold_timeout=data.get("on_hold_timeout"), auto_delete_in_days=data.get("auto_delete_in_days"),
                   next_plan=data.get("next_plan"))
        self._store(rec)
        return 200, self._present(rec)

    def _mz_modify(self, req, username):
        rec = self._locate(username)  # get_validated_user runs before the body is validated
        data = self._mz_validate(req.json(), create=False)
        self._mz_check_protocols(data.get("proxies", {}))
        if data.get("proxies"):
            rec["proxies"] = {p: s for p, s in data["proxies"].items()}
            rec["excluded"] = {p: rec["excluded"].get(p, []) for p in rec["proxies"]}
        if data.get("inbounds"):
            for protocol, tags in data["inbounds"].items():
                if protocol in rec["proxies"]:
                    rec["excluded"][protocol] = [i["tag"] for i in self._inbounds_of(protocol) if i["tag"] not in tags]
        self._mz_apply(rec, data)
        self._touch(rec)
        return 200, self._present(rec)

    def _mz_apply(self, rec: dict, data: dict):
        """crud.update_user from status on (proxies and inbounds are done by the caller)."""
        now = self.now()
        if data.get("status") is not None:
            self._set_status(rec, data["status"])
        if data.get("data_limit") is not None:
            rec["data_limit"] = data["data_limit"] or None
            if rec["status"] not in ("expired", "disabled"):
                if not rec["data_limit"] or rec["used_traffic"] < rec["data_limit"]:
                    if rec["status"] != "on_hold":
                        self._set_status(rec, "active")
                else:
                    self._set_status(rec, "limited")
        if data.get("expire") is not None:
            rec["expire"] = data["expire"] or None
            if rec["status"] in ("active", "expired"):
                self._set_status(rec, "active" if not rec["expire"] or rec["expire"] > now else "expired")
        if data.get("note") is not None:
            rec["note"] = data["note"] or None
        if data.get("data_limit_reset_strategy") is not None:
            rec["data_limit_reset_strategy"] = data["data_limit_reset_strategy"]
        if data.get("on_hold_timeout") is not None:
            rec["on_hold_timeout"] = data["on_hold_timeout"]
        if data.get("on_hold_expire_duration") is not None:
            rec["on_hold_expire_duration"] = data["on_hold_expire_duration"]
        rec["next_plan"] = data.get("next_plan")  # omitted or null: the next plan is deleted
        rec["edit_at"] = now

    # -- PasarGuard endpoints -------------------------------------------------------------------
    def _pg_inbounds(self, req):
        return 200, self._tags()

    def _pg_inbound_details(self, req):
        return 200, [{"tag": i["tag"], "protocol": i["protocol"], "network": i["network"]}
                     for i in sorted(self._inbounds, key=lambda i: i["tag"])]

    def _pg_group_json(self, group: dict) -> dict:
        total = sum(1 for r in self._users.values() if group["id"] in r["group_ids"])
        return {"name": group["name"], "inbound_tags": list(group["inbound_tags"]), "is_disabled": group["is_disabled"],
                "id": group["id"], "total_users": total}

    def _pg_groups(self, req):
        offset, limit = self._paging(req)
        groups = list(self._groups.values())
        page = groups[offset:offset + limit] if limit else groups[offset:]
        return 200, {"groups": [self._pg_group_json(g) for g in page], "total": len(groups)}

    def _pg_group(self, req, group_id):
        try:
            number = _as_int(group_id)
        except ValueError as exc:
            raise _Err(422, {"group_id": str(exc)})
        if number not in self._groups:
            raise _Err(404, "Group not found")
        return 200, self._pg_group_json(self._groups[number])

    def _pg_create_group(self, req):
        body = req.json()
        if not isinstance(body, dict):
            raise _Err(422, {"body": "Input should be a valid dictionary or object to extract fields from"})
        errors = {}
        name = body.get("name")
        if not isinstance(name, str):
            errors["name"] = "Field required" if name is None else "Input should be a valid string"
        elif not 3 <= len(name) <= 64:
            errors["name"] = f"String should have at {'least 3' if len(name) < 3 else 'most 64'} characters"
        tags = body.get("inbound_tags")
        if tags is None:
            errors["inbound_tags"] = "Field required" if "inbound_tags" not in body else "Input should be a valid list"
        elif not tags:
            errors["inbound_tags"] = "Value error, you must select at least one inbound"
        if errors:
            raise _Err(422, errors)
        for tag in tags:
            if tag not in self._tags():
                raise _Err(400, f"{tag} not found")
        group_id = self.add_group(name, tags, is_disabled=bool(body.get("is_disabled", False)))
        return 201, self._pg_group_json(self._groups[group_id])

    def _pg_list(self, req):
        offset, limit = self._paging(req)
        q = req.query
        statuses = q.get("status", [])
        for status in statuses:
            if status not in STATUSES:
                raise _Err(422, {"status": f"Input should be {_choices(STATUSES)}"})
        options = []
        for raw in q.get("sort", []):
            for opt in raw.strip(",").split(","):
                if opt and opt.lstrip("-") not in ("username", "used_traffic", "data_limit", "expire", "created_at",
                                                   "edit_at", "online_at"):
                    raise _Err(400, f"Value error, '{opt}' is not a valid UserSortOption")
                if opt:
                    options.append(opt)
        names = set(q.get("username", [])) | set(q.get("usernames", []))
        try:
            ids = {_as_int(v) for v in q.get("ids", [])}
            groups = {_as_int(v) for v in q.get("group", [])}
        except ValueError as exc:
            raise _Err(422, {"ids": str(exc)})
        search = (q.get("search", [""])[-1] or "").lower()
        load_sub = (q.get("load_sub", ["false"])[-1] or "").lower() in ("1", "true", "yes", "on")
        records = [r for r in self._users.values()
                   if (not names or r["username"] in names) and (not ids or r["id"] in ids)
                   and (not statuses or r["status"] in statuses)
                   and (not groups or groups & set(r["group_ids"]))
                   and (not search or search in r["username"].lower() or search in (r["note"] or "").lower())]
        total = len(records)
        self._apply_sort(records, options)
        page = records[offset:offset + limit] if limit else records[offset:]
        return 200, {"users": [self._pg_present(r, with_sub=load_sub) for r in page], "total": total}

    def _pg_validate(self, body, *, create: bool) -> dict:
        if not isinstance(body, dict):
            raise _Err(422, {"body": "Input should be a valid dictionary or object to extract fields from"
                                     if body is not None else "Field required"})
        errors, data = {}, {}

        def check(name, fn):
            if name in body:
                try:
                    data[name] = fn(body[name])
                except ValueError as exc:
                    errors[getattr(exc, "loc", name)] = str(exc)

        def proxy_settings(v):
            if v is None:
                if create:
                    raise ValueError("Input should be a valid dictionary or instance of ProxyTable")
                return None
            if not isinstance(v, dict):
                raise ValueError("Input should be a valid dictionary or instance of ProxyTable")
            return self._pg_proxy_table(v)

        def expire(v):
            if not v:
                return v  # 0 stays 0 (falsy): "0 means unlimited"
            if isinstance(v, int) and not isinstance(v, bool):
                return float(v)
            return _as_timestamp(v)

        def optional_int(v, **bounds):
            return None if v is None else _as_int(v, **bounds)

        def on_hold_timeout(v):
            if v == 0 or v is None:
                return None
            if isinstance(v, int) and not isinstance(v, bool):
                return self.now() + v
            return _as_timestamp(v)

        def group_ids(v):
            if v is None and not create:
                return None
            if v is not None and not isinstance(v, list):
                raise ValueError("Input should be a valid list")
            ids = [_as_int(x) for x in v or []]
            if create and not ids:
                raise ValueError("Value error, you must select at least one group")
            return ids

        def next_plan(v):
            if v is None:
                return None
            if not isinstance(v, dict):
                raise ValueError("Input should be a valid dictionary or instance of NextPlanModel")
            return {"user_template_id": optional_int(v.get("user_template_id")),
                    "data_limit": optional_int(v.get("data_limit")), "expire": optional_int(v.get("expire")),
                    "add_remaining_traffic": bool(v.get("add_remaining_traffic", False))}

        def username(v):
            v = _as_str(v)
            if not 3 <= len(v) <= 128:
                raise ValueError("Value error, Username only can be 3 to 128 characters.")
            if not re.match(r"^[a-zA-Z0-9-_@.]+$", v):
                raise ValueError("Value error, Username can only contain alphanumeric characters, -, _, @, and .")
            if re.search(r"[-_@.]{2,}", v):
                raise ValueError("Value error, Username cannot have consecutive special characters")
            return v

        def status(v):
            if v is None:
                return None
            allowed = ("active", "on_hold") if create else ("active", "on_hold", "disabled")
            if v not in allowed:
                shown = ", ".join(f"<UserStatus.{s}: '{s}'>" for s in allowed)
                raise ValueError(f"Value error, ('status must be in', {{{shown}}})")
            if v == "on_hold":
                if not data.get("on_hold_expire_duration"):
                    raise ValueError("Value error, User cannot be on hold without a valid on_hold_expire_duration.")
                if data.get("expire"):
                    raise ValueError("Value error, User cannot be on hold with specified expire.")
            return v

        check("proxy_settings", proxy_settings)
        check("expire", expire)
        check("data_limit", lambda v: optional_int(v, ge=0))
        check("data_limit_reset_strategy", lambda v: None if v is None else _as_enum(v, RESET_STRATEGIES))
        check("note", lambda v: None if v is None else _as_str(v, max_length=500))
        check("on_hold_expire_duration",
              lambda v: None if v in (0, None) else _as_int(v, ge=0, le=MAX_ON_HOLD_EXPIRE_DURATION))
        check("on_hold_timeout", on_hold_timeout)
        check("group_ids", group_ids)
        check("auto_delete_in_days", optional_int)
        check("hwid_limit", optional_int)
        check("next_plan", next_plan)
        if create:
            if "username" not in body:
                errors["username"] = "Field required"
            check("username", username)
        check("status", status)
        if errors:
            raise _Err(422, errors)
        return data

    def _pg_check_groups(self, ids: list[int] | None):
        if ids and any(i not in self._groups for i in ids):
            raise _Err(404, "Group not found")

    def _pg_create(self, req):
        data = self._pg_validate(req.json(), create=True)
        self._pg_check_groups(data.get("group_ids"))
        if self._find(data["username"]) is not None:
            raise _Err(409, "User already exists")
        rec = self._new_record(data["username"])
        rec["proxy_settings"] = data.get("proxy_settings") or self._pg_proxy_table({})
        rec["group_ids"] = list(dict.fromkeys(data.get("group_ids") or []))
        rec.update(status=data.get("status") or "active", expire=data.get("expire") or None,
                   data_limit=data.get("data_limit"), note=data.get("note"),
                   data_limit_reset_strategy=data.get("data_limit_reset_strategy") or "no_reset",
                   on_hold_expire_duration=data.get("on_hold_expire_duration"),
                   on_hold_timeout=data.get("on_hold_timeout"), auto_delete_in_days=data.get("auto_delete_in_days"),
                   hwid_limit=data.get("hwid_limit"), next_plan=data.get("next_plan"))
        self._store(rec)
        return 201, self._present(rec)

    def _pg_enabled_status(self, rec: dict) -> str:
        if rec["expire"] is not None and rec["expire"] <= self.now():
            return "expired"
        if rec["data_limit"] and rec["used_traffic"] >= rec["data_limit"]:
            return "limited"
        if rec["on_hold_expire_duration"] is not None:
            return "on_hold"
        return "active"

    def _pg_modify(self, req, username=None, user_id=None):
        rec = self._locate(username, user_id)
        data = self._pg_validate(req.json(), create=False)
        if data.get("group_ids") is not None:
            self._pg_check_groups(data["group_ids"])
        now = self.now()
        if data.get("proxy_settings") is not None:
            rec["proxy_settings"] = data["proxy_settings"]
        if data.get("group_ids") is not None:
            rec["group_ids"] = list(dict.fromkeys(data["group_ids"]))  # [] empties the groups
        status = data.get("status")
        if status is not None:
            if status == "active" and rec["status"] == "disabled":
                self._set_status(rec, self._pg_enabled_status(rec))
            else:
                self._set_status(rec, status)
        expire = data.get("expire")
        if status == "on_hold":
            rec["expire"] = None
        elif expire == 0:
            rec["expire"] = None
            if rec["status"] == "expired":
                self._set_status(rec, "active")
        elif expire is not None:
            rec["expire"] = expire
            if rec["status"] in ("active", "expired"):
                self._set_status(rec, "active" if rec["expire"] > now else "expired")
        if data.get("data_limit") is not None:
            rec["data_limit"] = data["data_limit"] or None
            if rec["status"] not in ("expired", "disabled"):
                if not rec["data_limit"] or rec["used_traffic"] < rec["data_limit"]:
                    if rec["status"] != "on_hold":
                        self._set_status(rec, "active")
                else:
                    self._set_status(rec, "limited")
        if data.get("note") is not None:
            rec["note"] = data["note"] or None
        if data.get("data_limit_reset_strategy") is not None:
            rec["data_limit_reset_strategy"] = data["data_limit_reset_strategy"]
        if "on_hold_timeout" in data and data["on_hold_timeout"] is not None:
            rec["on_hold_timeout"] = data["on_hold_timeout"]
        if data.get("on_hold_expire_duration") is not None:
            rec["on_hold_expire_duration"] = data["on_hold_expire_duration"]
        if "hwid_limit" in data:
            rec["hwid_limit"] = data["hwid_limit"]  # an explicit null clears it (_apply_explicit_null_hwid_limit)
        rec["next_plan"] = data.get("next_plan")  # omitted or null: the next plan is deleted
        rec["edit_at"] = now
        self._touch(rec)
        return 200, self._present(rec)

    def _pg_disabled(self, req, username=None, user_id=None):
        rec = self._locate(username, user_id)
        body = req.json()
        if not isinstance(body, dict) or "disabled" not in body:
            raise _Err(422, {"disabled" if isinstance(body, dict) else "body": "Field required"})
        value = body["disabled"]
        if not isinstance(value, bool):
            if str(value).lower() in ("1", "true", "yes", "on", "t", "y"):
                value = True
            elif str(value).lower() in ("0", "false", "no", "off", "f", "n"):
                value = False
            else:
                raise _Err(422, {"disabled": "Input should be a valid boolean, unable to interpret input"})
        self._set_status(rec, "disabled" if value else self._pg_enabled_status(rec))
        self._touch(rec)
        return 200, self._present(rec)

    # -- the server -----------------------------------------------------------------------------
    def _take_fault(self, method: str, target: str) -> str | None:
        with self.lock:
            for fault in self._faults:
                substring, kind, remaining, only = fault
                if remaining > 0 and substring in target and (only is None or only == method):
                    fault[2] -= 1
                    if fault[2] == 0:
                        self._faults.remove(fault)
                    return kind
        return None

    def _handler_class(self):
        fake = self
        fake._compiled = [(m, re.compile(p), h, a) for m, p, h, a in fake._routes()]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # see tests/fakes/telegram.py

            def log_message(self, *args):
                return

            def version_string(self):
                return "uvicorn"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                req = _Request(self.command, unquote(split.path), split.query, parse_qs(split.query, keep_blank_values=True),
                               self.headers, raw)
                call = Call(req.method, req.path, req.query, req.recorded_body(), time.monotonic(),
                            headers=dict(self.headers.items()))
                self.call = call
                with fake.lock:
                    fake.calls.append(call)
                if fake.down:
                    self._reset()
                    return
                if fake.latency:
                    time.sleep(fake.latency)
                fault = fake._take_fault(req.method, self.path)
                if fault == "drop":
                    self._drop()
                    return
                if fault in ("http500", "http502"):
                    self._raw(*(INTERNAL_ERROR if fault == "http500" else BAD_GATEWAY))
                    return
                try:
                    status, payload, headers = fake._dispatch(req)
                except Exception:  # a bug in the fake itself: say so, answer like uvicorn would
                    traceback.print_exc()
                    status, payload, headers = 500, _internal_error(), {}
                if fault == "drop_after_act":
                    self._drop()
                    return
                if fault == "timeout_after_act":
                    fake._stopping.wait(fake.hold_seconds)
                    self._drop()
                    return
                if fault == "http500_after_act":
                    self._raw(*INTERNAL_ERROR)
                    return
                self._answer(status, payload, headers)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815

            def _answer(self, status, payload, headers):
                if isinstance(payload, _Err):
                    if payload.raw:
                        return self._raw(*payload.raw)
                    payload = {"detail": payload.detail}
                if status in (204, 307):
                    self.call.status = status  # recorded before the client can see the answer
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if status == 307:
                        self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._raw(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json", headers)

            def _raw(self, status, data: bytes, content_type: str, headers: dict | None = None):
                self.call.status = status  # recorded before the client can see the answer
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            _drop = drop

            _reset = reset  # a panel that is down

        return Handler


class _Request:
    def __init__(self, method, path, query_string, query, headers, raw: bytes):
        self.method, self.path, self.query_string, self.query, self.headers, self.raw = \
            method, path, query_string, query, headers, raw
        self.json_error = None
        self._json = None
        content_type = headers.get("Content-Type", "") or ""
        self.is_form = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
        if raw and not self.is_form:
            try:
                self._json = json.loads(raw)
            except ValueError as exc:
                self.json_error = getattr(exc, "pos", 0)

    def json(self):
        if self.json_error is not None:
            raise _Err(422, {str(self.json_error): "JSON decode error"})
        return self._json

    def form(self) -> dict:
        if not self.is_form or not self.raw:
            return {}
        return {k: v[-1] for k, v in parse_qs(self.raw.decode("utf-8", "replace"), keep_blank_values=True).items()}

    def recorded_body(self):
        if self.is_form:
            return self.form()
        if self._json is not None:
            return self._json
        return self.raw.decode("utf-8", "replace") if self.raw else None
