"""The 3x-ui (MHSanaei/3x-ui) adapter, both API lines.

* **2.x line** (every version below 3.1.0, 3.0.x included): clients live inside each inbound's
  settings; routes ``/panel/api/inbounds/{list, get/:id, addClient, updateClient/:clientId,
  :id/delClientByEmail/:email (2.8+), :id/delClient/:clientId, :id/resetClientTraffic/:email}``.
  An account is one client per inbound of ``panel.inbounds``, all with the same subId (one
  subscription link): the client named ``name`` in the first inbound and ``f"{name}-{inbound_id}"``
  in the others (an email is unique across the panel). Usage is the sum of the clients'.
* **3.1+ line**: ``/panel/api/clients/*``; one client record attached to every inbound.

The line is probed once per adapter: ``GET {base}/csrf-token`` answers 200 from 3.0.0 on (cookie
POSTs, the login included, need its token), 404 before; after authenticating,
``GET /panel/api/server/status`` has ``obj.panelVersion`` from 3.1.0 on (the clients API).

Auth: an API token (3.0+) is sent as ``Authorization: Bearer``; otherwise a cookie login
(``POST {base}/login``, form). A refused API call (404, or 401/307 before 2.8.4, 401 on 3.1+ with
``X-Requested-With``) logs in again once and repeats the call; a failed login is never retried
by this adapter (3.0+ locks a user out after 5 failures).

Errors come back as HTTP 200 ``success:false`` with a message ending in a newline; an empty 200
body (the v2.6 addClient quirk), a 5xx, a timeout or a dropped connection is PanelUnavailable:
the write may or may not have happened.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from panels import crypto

from .. import register
from ..base import (
    Account,
    AccountExists,
    AccountMissing,
    AccountSpec,
    Adapter,
    PanelAuthError,
    PanelInfo,
    PanelRefused,
    PanelUnavailable,
    VerifyFailed,
    from_unix_ms,
    to_unix_ms,
)

log = logging.getLogger(__name__)

API = "/panel/api"
INBOUNDS = f"{API}/inbounds"
CLIENTS = f"{API}/clients"
# what "not logged in" looks like on /panel/api/*: 404 (checkAPIAuth, 2.8.4+), 401 (checkLogin with
# X-Requested-With before 2.8.4, bare on 3.1+), a redirect to the login page (checkLogin without it)
API_AUTH_STATUSES = frozenset({401, 404, 302, 303, 307})
PAGE_AUTH_STATUSES = frozenset({401, 302, 303, 307})  # /panel/setting/* (checkLogin): 404 = no such route
SS_KEY_SIZES = {"2022-blake3-aes-128-gcm": 16, "2022-blake3-aes-256-gcm": 32, "2022-blake3-chacha20-poly1305": 32}
# model.Client fields (3.1+ update replaces the client: these are carried over from the record)
CLIENT_FIELDS = ("security", "password", "flow", "auth", "email", "limitIp", "totalGB", "expiryTime", "enable",
                 "tgId", "subId", "group", "comment", "reset", "privateKey", "publicKey", "preSharedKey",
                 "keepAlive", "secret", "adTag")


def _text(msg) -> str:
    """A panel message on one line (common.NewError ends it with a newline inside the parentheses)."""
    return " ".join(str(msg or "").split())


def _panel_msg(exc: Exception) -> str:
    """The panel's own message of a refusal (not the request path, which holds the account name)."""
    return getattr(exc, "panel_msg", "")


def _is_not_found(exc: Exception) -> bool:
    low = _panel_msg(exc).lower()
    return "not found" in low or "empty client id" in low


def _new_uuid() -> str:
    return str(uuid.uuid4())


def _new_sub_id() -> str:
    return secrets.token_hex(8)  # 16 characters, like the panel's own random subIds


@dataclass
class _Inbound:
    id: int
    protocol: str
    remark: str = ""
    port: int = 0
    method: str = ""  # shadowsocks
    clients: list = field(default_factory=list)  # raw client dicts (2.x line reads)
    stats: list = field(default_factory=list)  # clientStats rows

    @property
    def client_key(self) -> str:
        """What updateClient/delClient take as :clientId for this protocol."""
        return {"trojan": "password", "shadowsocks": "email"}.get(self.protocol, "id")


@dataclass
class _Entry:
    """One client of an account inside one inbound (2.x line)."""

    inbound: _Inbound
    raw: dict

    @property
    def email(self) -> str:
        return str(self.raw.get("email") or "")

    @property
    def client_id(self) -> str:
        return str(self.raw.get(self.inbound.client_key) or "")


@register
class XuiAdapter(Adapter):
    kind = "3x-ui"

    def __init__(self, panel, *, transport: httpx.BaseTransport | None = None):
        super().__init__(panel, transport=transport)
        # checkLogin then answers 401 + JSON instead of a redirect, and 3.1+ answers 401 (not 404) to an
        # unauthenticated call, so a 404 there only means "no such route"
        self.client.headers["X-Requested-With"] = "XMLHttpRequest"
        self.client.headers["Accept"] = "application/json"
        self._csrf_line: bool | None = None  # 3.0+: /csrf-token exists
        self._clients_api: bool | None = None  # 3.1+: /panel/api/clients/*
        self._version = ""
        self._use_token = False
        self._csrf = ""
        self._logged_in = False
        self._fresh = False  # logged in and no call made since: a 404 then means "no such route"
        self._auth_failed = ""  # a refused login is not tried again by this adapter
        self._inbounds: dict[int, _Inbound] = {}
        self._sub_base: str | None = None
        self._sub_base_known = False
        self._del_by_email = True  # 2.8+; turned off when the route turns out to be missing

    def __repr__(self):
        return f"<XuiAdapter {self.panel.base_url!r}>"

    # --- the interface ---------------------------------------------------------------------------------
    def info(self) -> PanelInfo:
        self._ready()
        inbounds = self._list_inbounds()
        self._subscription_base(required=True)
        return PanelInfo(kind=self.kind, version=self._version,
                         inbounds=[{"id": ib.id, "remark": ib.remark, "protocol": ib.protocol, "port": ib.port}
                                   for ib in inbounds])

    def get(self, name: str) -> Account | None:
        self._ready()
        if self._clients_api:
            return self._get_v3(name)
        entries, inbounds = self._entries(name)
        return self._account_v2(entries, inbounds) if entries else None

    def create(self, spec: AccountSpec) -> Account:
        self._ready()
        inbound_ids = self._configured_inbounds()
        inbounds = [self._inbound(i) for i in inbound_ids]
        self._subscription_base(required=True)  # before writing: no account without a link to give
        if self._clients_api:
            self._create_v3(spec, inbounds)
        else:
            self._create_v2(spec, inbounds)
        return self._verified(spec, all_inbounds=True)

    def update(self, spec: AccountSpec) -> Account:
        self._ready()
        if self._clients_api:
            record, inbound_ids = self._record(spec.name)
            if record is None:
                raise AccountMissing(f"3x-ui has no client {spec.name}")
            client = self._client_from_record(record)
            self._apply_spec(client, spec)
            self._post(f"{CLIENTS}/update/{self._q(spec.name)}", client)
            missing = [i for i in self._configured_inbounds(required=False) if i not in inbound_ids]
            if missing:
                self._post(f"{CLIENTS}/{self._q(spec.name)}/attach", {"inboundIds": missing})
                log.info("3x-ui client %s attached to the missing inbounds %s", spec.name, missing)
        else:
            entries, _ = self._entries(spec.name)
            if not entries:
                raise AccountMissing(f"3x-ui has no client {spec.name}")
            for entry in entries:
                raw = dict(entry.raw)
                self._apply_spec(raw, spec)
                self._update_entry(entry, raw)
            self._repair_v2(spec, entries)
        return self._verified(spec, all_inbounds=True)

    def reset_usage(self, name: str) -> Account:
        self._ready()
        before = self._require(name)
        if self._clients_api:
            self._post(f"{CLIENTS}/resetTraffic/{self._q(name)}")
        else:
            entries, _ = self._entries(name)
            done = set()
            for entry in entries:
                if entry.email in done:
                    continue
                done.add(entry.email)
                self._post(f"{INBOUNDS}/{entry.inbound.id}/resetClientTraffic/{self._q(entry.email)}")
        after = self._require(name)
        if not before.enabled and after.enabled and self._clients_api:
            # 3.1+ re-enables a disabled client on a reset (ResetTrafficByEmail): keep it as it was
            record, _ = self._record(name)
            if record is not None:
                client = self._client_from_record(record)
                client["enable"] = False
                self._post(f"{CLIENTS}/update/{self._q(name)}", client)
            after = self._verified(self._spec_of(before))
        if before.used_bytes > 0 and after.used_bytes >= before.used_bytes:
            raise VerifyFailed(f"3x-ui client {name}: usage still {after.used_bytes} bytes after the reset")
        return after

    def regenerate_link(self, name: str) -> Account:
        self._ready()
        before = self._require(name)
        sub_id = _new_sub_id()
        self._subscription_base(required=True)
        if self._clients_api:
            record, _ = self._record(name)
            if record is None:
                raise AccountMissing(f"3x-ui has no client {name}")
            client = self._client_from_record(record)
            client["subId"] = sub_id
            if client.get("id"):
                client["id"] = _new_uuid()
            if client.get("password"):
                client["password"] = self._new_password([self._inbound(i) for i in record.get("_inboundIds", [])])
            if client.get("auth"):
                client["auth"] = secrets.token_hex(16)
            self._post(f"{CLIENTS}/update/{self._q(name)}", client)
        else:
            entries, _ = self._entries(name)
            creds = {"id": _new_uuid(), "password": secrets.token_hex(16)}
            for entry in entries:
                raw = dict(entry.raw, subId=sub_id)
                raw.update(self._credentials(entry.inbound, creds))
                self._update_entry(entry, raw)
        after = self._verified(self._spec_of(before))
        if after.remote_id == before.remote_id or after.subscription_url == before.subscription_url:
            raise VerifyFailed(f"3x-ui client {name}: the subscription id did not change")
        return after

    def delete(self, name: str) -> None:
        self._ready()
        if self._clients_api:
            try:
                self._post(f"{CLIENTS}/del/{self._q(name)}")
            except PanelRefused as exc:
                if not _is_not_found(exc):
                    raise
            if self._get_v3(name) is not None:
                raise VerifyFailed(f"3x-ui client {name} is still there after the delete")
            return
        entries, _ = self._entries(name)
        disabled = set()
        # the extra inbounds' clients first, the one named `name` last: a delete cut short leaves an
        # account that get() still finds, and deleting again finishes the job
        for entry in sorted(entries, key=lambda e: e.email.lower() == name.lower()):
            if not self._delete_entry(entry):
                disabled.add((entry.inbound.id, entry.email))
        left, _ = self._entries(name)
        alive = [e for e in left if (e.inbound.id, e.email) not in disabled or e.raw.get("enable") is not False]
        if alive:
            raise VerifyFailed(f"3x-ui client {name} is still there after the delete "
                               f"(inbounds {sorted({e.inbound.id for e in alive})})")

    def accounts(self) -> Iterator[Account]:
        self._ready()
        if self._clients_api:
            data = self._call("GET", f"{CLIENTS}/list")
            for item in data.get("obj") or []:
                if isinstance(item, dict) and item.get("email"):
                    yield self._account_v3(item, item.get("traffic"))
            return
        inbounds = self._list_inbounds()
        mains: dict[str, list[_Entry]] = {}
        for ib in inbounds:
            for raw in ib.clients:
                email = str(raw.get("email") or "")
                if email:
                    mains.setdefault(email.lower(), []).append(_Entry(ib, raw))
        grouped: dict[str, list[_Entry]] = {key: list(entries) for key, entries in mains.items()}
        for ib in inbounds:  # "bob-7" in inbound 7 with bob's subId belongs to bob
            suffix = f"-{ib.id}"
            for raw in ib.clients:
                email = str(raw.get("email") or "").lower()
                owner = email[:-len(suffix)] if email.endswith(suffix) else ""
                if owner and owner in mains and raw.get("subId") and raw.get("subId") == mains[owner][0].raw.get("subId"):
                    grouped[owner].append(_Entry(ib, raw))
                    grouped.pop(email, None)
        stats = self._stats(inbounds)
        for entries in grouped.values():
            yield self._account_v2(entries, inbounds, stats)

    # --- probing and auth ------------------------------------------------------------------------------
    def _ready(self) -> None:
        """Probe the line and authenticate, once per adapter."""
        if self._clients_api is not None:
            return
        if self._csrf_line is None:
            response = self.request("GET", "/csrf-token")
            if response.status_code == 200:
                token = self._json_or_none(response)
                if not (isinstance(token, dict) and token.get("success") and isinstance(token.get("obj"), str)):
                    raise PanelRefused("3x-ui: /csrf-token did not answer a token: is this a 3x-ui panel?")
                self._csrf_line, self._csrf = True, token["obj"]
            elif response.status_code == 404:
                self._csrf_line = False
            elif response.status_code >= 500:
                raise PanelUnavailable(f"3x-ui GET /csrf-token: HTTP {response.status_code}")
            else:
                raise PanelRefused(f"3x-ui GET /csrf-token: unexpected HTTP {response.status_code}: "
                                   f"check the address and its web base path")
        self._use_token = bool(self._csrf_line and self.panel.token_encrypted)
        if not self._use_token:
            self._login(fresh_csrf=False)
        data = self._call("GET", f"{API}/server/status", missing_ok=True)  # added in 2.7.0
        obj = (data or {}).get("obj") or {}
        panel_version = obj.get("panelVersion") if isinstance(obj, dict) else None
        if panel_version:
            self._clients_api, self._version = True, str(panel_version)
        else:
            self._clients_api, self._version = False, "3.0.x" if self._csrf_line else "2.x"
        log.info("3x-ui at %s: version %s (%s API)", self.panel.base_url, self._version,
                 "clients" if self._clients_api else "inbound clients")

    def _secret(self, value: str, what: str) -> str:
        try:
            return crypto.decrypt(value)
        except crypto.SecretUnreadable:
            raise PanelAuthError(f"3x-ui: the stored {what} cannot be read with the current key: set it again")

    def _login(self, *, fresh_csrf: bool = True) -> None:
        if self._auth_failed:
            raise PanelAuthError(self._auth_failed)
        username = self.panel.username or ""
        password = self._secret(self.panel.password_encrypted, "password")
        if not username or not password:
            self._auth_failed = ("3x-ui: no username and password set" +
                                 ("" if self._csrf_line else " (API tokens need 3x-ui 3.0 or later)"))
            raise PanelAuthError(self._auth_failed)
        self._logged_in = False
        headers = {}
        if fresh_csrf or not self._csrf:
            self.client.cookies.clear()  # the old session (and the CSRF token bound to it) is gone
        if self._csrf_line:
            if fresh_csrf or not self._csrf:
                response = self.request("GET", "/csrf-token")
                token = self._json_or_none(response) if response.status_code == 200 else None
                if not (isinstance(token, dict) and isinstance(token.get("obj"), str)):
                    if response.status_code >= 500:
                        raise PanelUnavailable(f"3x-ui GET /csrf-token: HTTP {response.status_code}")
                    raise PanelRefused(f"3x-ui GET /csrf-token: HTTP {response.status_code}, no token")
                self._csrf = token["obj"]
            headers["X-CSRF-Token"] = self._csrf
        response = self.request("POST", "/login", data={"username": username, "password": password}, headers=headers)
        if response.status_code >= 500:
            raise PanelUnavailable(f"3x-ui POST /login: HTTP {response.status_code}")
        if response.status_code == 404:
            raise PanelRefused(f"3x-ui: no login page at {self.panel.base_url}: check the address and its web base path")
        if response.status_code != 200:
            raise PanelRefused(f"3x-ui POST /login: unexpected HTTP {response.status_code}")
        if not response.content.strip():
            raise PanelUnavailable("3x-ui POST /login: empty answer")
        data = self._json_or_none(response)
        if not isinstance(data, dict):
            raise PanelRefused("3x-ui POST /login: the answer is not JSON: check the address")
        if not data.get("success"):
            # never tried again from here: 3.0+ locks the user out after 5 failures in 5 minutes
            self._auth_failed = f"3x-ui refused the login of user {username!r}: {_text(data.get('msg'))}"
            raise PanelAuthError(self._auth_failed)
        self._logged_in = self._fresh = True
        log.info("logged in to 3x-ui at %s", self.panel.base_url)

    # --- HTTP --------------------------------------------------------------------------------------------
    @staticmethod
    def _json_or_none(response: httpx.Response):
        try:
            return response.json()
        except ValueError:
            return None

    @staticmethod
    def _q(value: str) -> str:
        return quote(str(value), safe="@")

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self._use_token:
            headers["Authorization"] = "Bearer " + self._secret(self.panel.token_encrypted, "API token")
        elif self._csrf_line and method not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self._csrf
        return self.request(method, path, headers=headers, **kwargs)

    def _call(self, method: str, path: str, *, json_body=None, missing_ok: bool = False,
              auth_statuses=API_AUTH_STATUSES, soft_auth: bool = False) -> dict | None:
        """One authenticated call and its envelope; logs in again once when the panel says the
        session is gone. missing_ok: a 404 that survives a fresh login means "no such route" → None.
        soft_auth: an auth refusal we cannot fix (a Bearer token on a cookie-only page) → None."""
        statuses = set(auth_statuses)
        if self._csrf_line and not self._use_token:
            statuses.add(403)  # CSRFMiddleware: the session (and its token) is gone
        for attempt in (1, 2):
            kwargs = {"json": json_body} if json_body is not None else {}
            response = self._send(method, path, **kwargs)
            fresh, self._fresh = self._fresh, False
            if response.status_code not in statuses:
                return self._envelope(response, method, path)
            if missing_ok and response.status_code == 404 and fresh:
                return None
            if self._use_token:
                if soft_auth or (missing_ok and response.status_code == 404):
                    return None
                raise PanelAuthError(f"3x-ui refused the API token (HTTP {response.status_code} on {path}): "
                                     f"it was revoked or belongs to another panel")
            if attempt == 1:
                self._login()
                continue
            if missing_ok and response.status_code == 404:
                return None
            if soft_auth:
                return None
            raise PanelAuthError(f"3x-ui still refuses {method} {path} (HTTP {response.status_code}) right after "
                                 f"logging in again")
        return None  # pragma: no cover

    def _envelope(self, response: httpx.Response, method: str, path: str) -> dict:
        where = f"3x-ui {method} {path}"
        if response.status_code >= 500:
            raise PanelUnavailable(f"{where}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise PanelRefused(f"{where}: HTTP {response.status_code}")
        if not response.content.strip():
            # the v2.6 quirk: the write may have happened; the caller looks the account up
            raise PanelUnavailable(f"{where}: empty answer (the change may or may not have been applied)")
        data = self._json_or_none(response)
        if not isinstance(data, dict) or "success" not in data:
            raise PanelRefused(f"{where}: the answer is not a 3x-ui message")
        if not data["success"]:
            msg = _text(data.get("msg")) or "refused"
            low = msg.lower()
            cls = AccountExists if "duplicate email" in low or "email already in use" in low else PanelRefused
            exc = cls(f"{where}: {msg}")
            exc.panel_msg = msg
            raise exc
        return data

    def _post(self, path: str, body=None) -> dict:
        return self._call("POST", path, json_body=body)

    # --- inbounds ----------------------------------------------------------------------------------------
    def _parse_inbound(self, item: dict, *, with_clients: bool) -> _Inbound:
        settings = item.get("settings")
        if isinstance(settings, str):  # 2.x: a JSON string; 3.1+: an object
            try:
                settings = json.loads(settings) if settings.strip() else {}
            except ValueError:
                settings = {}
        settings = settings if isinstance(settings, dict) else {}
        clients = settings.get("clients") if with_clients else None
        ib = _Inbound(id=int(item.get("id") or 0), protocol=str(item.get("protocol") or ""),
                      remark=str(item.get("remark") or ""), port=int(item.get("port") or 0),
                      method=str(settings.get("method") or ""),
                      clients=[c for c in clients if isinstance(c, dict)] if isinstance(clients, list) else [],
                      stats=[s for s in item.get("clientStats") or [] if isinstance(s, dict)])
        self._inbounds[ib.id] = _Inbound(ib.id, ib.protocol, ib.remark, ib.port, ib.method)
        return ib

    def _list_inbounds(self) -> list[_Inbound]:
        """Every inbound with its clients and their traffic rows: one call."""
        data = self._call("GET", f"{INBOUNDS}/list")
        return [self._parse_inbound(item, with_clients=True) for item in data.get("obj") or [] if isinstance(item, dict)]

    def _inbound(self, inbound_id: int) -> _Inbound:
        """An inbound's protocol, remark, port (cached for the adapter's life)."""
        if inbound_id not in self._inbounds:
            try:
                data = self._call("GET", f"{INBOUNDS}/get/{int(inbound_id)}")
            except PanelRefused as exc:
                if _is_not_found(exc):
                    raise PanelRefused(f"3x-ui has no inbound {inbound_id}: check the panel's inbounds")
                raise
            self._parse_inbound(data.get("obj") or {}, with_clients=False)
        return self._inbounds[inbound_id]

    def _configured_inbounds(self, *, required: bool = True) -> list[int]:
        ids = []
        for value in self.panel.inbounds or []:
            try:
                ids.append(int(value))
            except (TypeError, ValueError):
                raise PanelRefused(f"3x-ui inbounds are numeric ids; {value!r} is not one")
        if required and not ids:
            raise PanelRefused("no 3x-ui inbound is set for new accounts on this panel")
        return list(dict.fromkeys(ids))

    # --- subscription link -------------------------------------------------------------------------------
    def _subscription_base(self, *, required: bool) -> str:
        """panel.public_base_url, else the sub address the panel's settings offer (subURI, or the one it
        builds from subDomain/subPort/subPath), else PanelRefused (required) or ""."""
        if not self._sub_base_known:
            base = (self.panel.public_base_url or "").strip()
            if not base:
                base = self._panel_sub_base()
            self._sub_base = (base.rstrip("/") + "/") if base else None
            self._sub_base_known = True
        if self._sub_base is None and required:
            raise PanelRefused("3x-ui: set the panel's public subscription address (the subscription server's "
                               "URL with its path, e.g. https://host:2096/sub/): the panel's settings do not offer one")
        return self._sub_base or ""

    def _panel_sub_base(self) -> str:
        """POST defaultSettings: under /panel/setting (cookie only) before 3.3.0, /panel/api/setting after."""
        newer = self._clients_api and self._version_tuple() >= (3, 3, 0)
        path = f"{API}/setting/defaultSettings" if newer else "/panel/setting/defaultSettings"
        try:
            data = self._call("POST", path, missing_ok=True, soft_auth=True,
                              auth_statuses=API_AUTH_STATUSES if newer else PAGE_AUTH_STATUSES)
        except PanelRefused:
            return ""
        obj = (data or {}).get("obj")
        if not isinstance(obj, dict) or obj.get("subEnable") is False:
            return ""
        return str(obj.get("subURI") or "")

    def _version_tuple(self) -> tuple[int, ...]:
        parts = []
        for piece in self._version.lstrip("v").split(".")[:3]:
            digits = "".join(ch for ch in piece if ch.isdigit())
            parts.append(int(digits) if digits else 0)
        return tuple(parts)

    # --- reading -----------------------------------------------------------------------------------------
    def _require(self, name: str) -> Account:
        account = self.get(name)
        if account is None:
            raise AccountMissing(f"3x-ui has no client {name}")
        return account

    def _verified(self, spec: AccountSpec, *, all_inbounds: bool = False) -> Account:
        """Read the account back and compare: the shared checks (enabled, limit, expiry), the device
        limit, on 2.x every client of the account (not only the first), and with all_inbounds its
        presence in every configured inbound."""
        problems = []
        if self._clients_api:
            record, inbound_ids = self._record(spec.name)
            account = self._account_v3(record, self._traffic_v3(spec.name)) if record else None
        else:
            entries, inbounds = self._entries(spec.name)
            account = self._account_v2(entries, inbounds) if entries else None
            inbound_ids = [e.inbound.id for e in entries]
            main = entries[0].raw if entries else {}
            for entry in entries[1:]:
                differ = [k for k in ("enable", "expiryTime", "totalGB", "limitIp") if entry.raw.get(k) != main.get(k)]
                if differ:
                    problems.append(f"{entry.email} in inbound {entry.inbound.id} differs ({', '.join(differ)})")
        if account is None:
            raise VerifyFailed(f"3x-ui client {spec.name} is not there after the write")
        self.verify(spec, account)
        if account.devices != spec.devices:
            problems.append(f"devices {account.devices} instead of {spec.devices}")
        if all_inbounds:
            missing = [i for i in self._configured_inbounds(required=False) if i not in inbound_ids]
            if missing:
                problems.append(f"not in inbounds {missing}")
        if problems:
            raise VerifyFailed(f"3x-ui account {spec.name}: " + "; ".join(problems))
        return account

    @staticmethod
    def _spec_of(account: Account) -> AccountSpec:
        return AccountSpec(name=account.name, expires_at=account.expires_at, limit_bytes=account.limit_bytes,
                           devices=account.devices, enabled=account.enabled)

    def _make_account(self, *, name: str, client: dict, used: int, last_online_ms: int, remote_id: str) -> Account:
        expiry = int(client.get("expiryTime") or 0)
        limit = int(client.get("totalGB") or 0)
        enabled = client.get("enable") is not False
        expires_at = from_unix_ms(expiry)  # negative = starts on first use: no date yet
        now = datetime.now(tz=UTC)
        if expires_at and expires_at <= now:
            status = "expired"
        elif limit and used >= limit:
            status = "limited"
        elif not enabled:
            status = "disabled"
        elif expiry < 0:
            status = "on_hold"  # the expiry starts with the first connection
        else:
            status = "active"
        sub_id = str(client.get("subId") or "")
        base = self._subscription_base(required=False)
        return Account(name=name, enabled=enabled, expires_at=expires_at, limit_bytes=limit, used_bytes=used,
                       status=status, last_online=from_unix_ms(last_online_ms),
                       subscription_url=(base + sub_id) if base and sub_id else "",
                       remote_id=remote_id or sub_id, devices=int(client.get("limitIp") or 0))

    # 2.x line
    @staticmethod
    def _stats(inbounds: list[_Inbound]) -> dict[str, dict]:
        return {str(row.get("email")): row for ib in inbounds for row in ib.stats if row.get("email")}

    def _entries(self, name: str) -> tuple[list[_Entry], list[_Inbound]]:
        """The account's clients (the one named `name` first, then its "name-<inbound id>" ones with the
        same subId) from one /list call."""
        inbounds = self._list_inbounds()
        key = name.lower()
        mains = [_Entry(ib, raw) for ib in inbounds for raw in ib.clients if str(raw.get("email") or "").lower() == key]
        if not mains:
            return [], inbounds
        sub_id = mains[0].raw.get("subId")
        extras = [_Entry(ib, raw) for ib in inbounds for raw in ib.clients
                  if sub_id and raw.get("subId") == sub_id and str(raw.get("email") or "").lower() == f"{key}-{ib.id}"]
        return mains + extras, inbounds

    def _account_v2(self, entries: list[_Entry], inbounds: list[_Inbound], stats: dict | None = None) -> Account:
        stats = self._stats(inbounds) if stats is None else stats
        main = entries[0]
        used, last_online, seen = 0, 0, set()
        for entry in entries:
            if entry.email in seen:  # one traffic row per email
                continue
            seen.add(entry.email)
            row = stats.get(entry.email) or {}
            used += int(row.get("up") or 0) + int(row.get("down") or 0)
            last_online = max(last_online, int(row.get("lastOnline") or 0))
        remote_id = str(main.raw.get("id") or "") if main.inbound.protocol in ("vless", "vmess") else ""
        return self._make_account(name=main.email, client=main.raw, used=used, last_online_ms=last_online,
                                  remote_id=remote_id)

    # 3.1+ line
    def _record(self, name: str) -> tuple[dict | None, list[int]]:
        try:
            data = self._call("GET", f"{CLIENTS}/get/{self._q(name)}")
        except PanelRefused as exc:
            if _is_not_found(exc):
                return None, []
            raise
        obj = data.get("obj") or {}
        record = obj.get("client") if isinstance(obj, dict) else None
        if not isinstance(record, dict):
            return None, []
        inbound_ids = [int(i) for i in obj.get("inboundIds") or []]
        record = dict(record, _inboundIds=inbound_ids, _usedTraffic=int(obj.get("usedTraffic") or 0))
        return record, inbound_ids

    def _get_v3(self, name: str) -> Account | None:
        record, _ = self._record(name)
        return self._account_v3(record, self._traffic_v3(name)) if record is not None else None

    def _traffic_v3(self, name: str) -> dict | None:
        try:  # 3.3+: null when missing; 3.1–3.2: "Inbound Not Found For Email"
            return self._call("GET", f"{CLIENTS}/traffic/{self._q(name)}").get("obj")
        except PanelRefused as exc:
            if not _is_not_found(exc):
                raise
            return None

    def _account_v3(self, record: dict, traffic) -> Account:
        traffic = traffic if isinstance(traffic, dict) else {}
        if traffic:
            used = int(traffic.get("up") or 0) + int(traffic.get("down") or 0)
        else:
            used = int(record.get("_usedTraffic") or 0)
        return self._make_account(name=str(record.get("email")), client=record, used=used,
                                  last_online_ms=int(traffic.get("lastOnline") or 0), remote_id=str(record.get("uuid") or ""))

    # --- writing -----------------------------------------------------------------------------------------
    @staticmethod
    def _apply_spec(client: dict, spec: AccountSpec) -> None:
        client.update({"totalGB": int(spec.limit_bytes or 0), "expiryTime": to_unix_ms(spec.expires_at),
                       "limitIp": int(spec.devices or 0), "enable": bool(spec.enabled)})
        if spec.note:
            client["comment"] = spec.note

    @staticmethod
    def _new_password(inbounds: list[_Inbound]) -> str:
        """A password every one of these inbounds accepts (Shadowsocks 2022 wants a base64 key of its size)."""
        size = max((SS_KEY_SIZES.get(ib.method, 0) for ib in inbounds if ib.protocol == "shadowsocks"), default=0)
        return base64.b64encode(secrets.token_bytes(size)).decode() if size else secrets.token_hex(16)

    def _credentials(self, inbound: _Inbound, shared: dict) -> dict:
        """A 2.x client's credentials for its inbound: the account's UUID (vless/vmess), its hex password
        (trojan: the password is the :clientId in a URL path, so no "/" from base64), or a key of the
        inbound's Shadowsocks method (clientId = email there)."""
        if inbound.protocol in ("vless", "vmess"):
            return {"id": shared["id"]}
        if inbound.protocol == "shadowsocks":
            return {"password": self._new_password([inbound])}
        return {"password": shared["password"]}

    def _new_client(self, spec: AccountSpec, email: str, sub_id: str, inbound: _Inbound, shared: dict) -> dict:
        client = {**self._credentials(inbound, shared), "email": email, "limitIp": 0, "totalGB": 0, "expiryTime": 0,
                  "enable": True, "tgId": 0, "subId": sub_id, "comment": "", "reset": 0}
        if inbound.protocol in ("vless", "vmess"):
            client["flow"] = ""
        if inbound.protocol == "vmess":
            client["security"] = "auto"
        self._apply_spec(client, spec)
        return client

    def _add_v2(self, inbound: _Inbound, client: dict) -> None:
        self._post(f"{INBOUNDS}/addClient", {"id": inbound.id, "settings": json.dumps({"clients": [client]})})

    def _create_v2(self, spec: AccountSpec, inbounds: list[_Inbound]) -> None:
        sub_id = _new_sub_id()
        creds = {"id": _new_uuid(), "password": secrets.token_hex(16)}
        first, *others = inbounds
        self._add_v2(first, self._new_client(spec, spec.name, sub_id, first, creds))
        for inbound in others:
            try:
                self._add_v2(inbound, self._new_client(spec, f"{spec.name}-{inbound.id}", sub_id, inbound, creds))
            except PanelUnavailable:
                raise  # unknown outcome: the caller looks the account up (update() adds what is missing)
            except PanelRefused as exc:
                self._roll_back(spec.name)
                raise PanelRefused(f"3x-ui: could not add {spec.name} to inbound {inbound.id} "
                                   f"(created clients removed): {exc}")

    def _roll_back(self, name: str) -> None:
        try:
            entries, _ = self._entries(name)
            for entry in sorted(entries, key=lambda e: e.email.lower() == name.lower()):
                self._delete_entry(entry)
        except Exception:  # noqa: BLE001 - best effort; the refusal is what gets reported
            log.warning("3x-ui: rolling back the half-created client %s failed", name, exc_info=True)

    def _repair_v2(self, spec: AccountSpec, entries: list[_Entry]) -> None:
        """Add the account to configured inbounds it is missing from (a create cut short)."""
        have = {e.inbound.id for e in entries}
        main = entries[0]
        missing = [i for i in self._configured_inbounds(required=False) if i not in have]
        if not missing:
            return
        inbounds = [self._inbound(i) for i in missing]
        creds = {"id": next((str(e.raw["id"]) for e in entries if e.raw.get("id")), "") or _new_uuid(),
                 "password": next((str(e.raw["password"]) for e in entries
                                   if e.inbound.protocol == "trojan" and e.raw.get("password")), "") or secrets.token_hex(16)}
        for inbound in inbounds:
            self._add_v2(inbound, self._new_client(spec, f"{main.email}-{inbound.id}", str(main.raw.get("subId")),
                                                   inbound, creds))
        log.info("3x-ui client %s added to the missing inbounds %s", spec.name, missing)

    def _update_entry(self, entry: _Entry, raw: dict) -> None:
        """updateClient/:clientId (uuid for vless/vmess, password for trojan, email for shadowsocks) with
        the settings as a JSON string; the clientId is the one before the change."""
        raw = {k: v for k, v in raw.items() if k != "updated_at"}
        self._post(f"{INBOUNDS}/updateClient/{quote(entry.client_id, safe='')}",
                   {"id": entry.inbound.id, "settings": json.dumps({"clients": [raw]})})

    def _delete_entry(self, entry: _Entry) -> bool:
        """Delete one client from its inbound; False when it was the inbound's last client and was
        disabled instead (3x-ui refuses to empty an inbound)."""
        ib = entry.inbound.id
        try:
            if self._del_by_email:
                data = self._call("POST", f"{INBOUNDS}/{ib}/delClientByEmail/{self._q(entry.email)}", missing_ok=True)
                if data is not None:
                    return True
                self._del_by_email = False  # before 2.8.0
            self._post(f"{INBOUNDS}/{ib}/delClient/{quote(entry.client_id, safe='')}")
            return True
        except PanelRefused as exc:
            text = _panel_msg(exc).lower()
            if "no client remained" in text:
                self._update_entry(entry, dict(entry.raw, enable=False))
                log.warning("3x-ui client %s is the last one of inbound %s, which the panel will not empty: "
                            "disabled instead of deleted", entry.email, ib)
                return False
            if _is_not_found(exc) and "record not found" not in text:
                return True  # already gone
            raise

    def _create_v3(self, spec: AccountSpec, inbounds: list[_Inbound]) -> None:
        client = {"email": spec.name, "subId": _new_sub_id(), "limitIp": 0, "totalGB": 0, "expiryTime": 0,
                  "enable": True, "tgId": 0, "comment": "", "reset": 0}
        protocols = {ib.protocol for ib in inbounds}
        if protocols & {"vless", "vmess"}:
            client["id"] = _new_uuid()
        if protocols & {"trojan", "shadowsocks"}:
            client["password"] = self._new_password(inbounds)
        if "vmess" in protocols:
            client["security"] = "auto"
        self._apply_spec(client, spec)
        self._post(f"{CLIENTS}/add", {"client": client, "inboundIds": [ib.id for ib in inbounds]})
        if not spec.enabled:
            # clients/add forces enable=true: disable it with a (full) update
            record, _ = self._record(spec.name)
            if record is None:
                raise VerifyFailed(f"3x-ui client {spec.name} is not there after the write")
            full = self._client_from_record(record)
            self._apply_spec(full, spec)
            self._post(f"{CLIENTS}/update/{self._q(spec.name)}", full)

    @staticmethod
    def _client_from_record(record: dict) -> dict:
        """The whole model.Client of a 3.1+ client record: update/:email replaces the client, and an
        omitted field becomes 0/false (only uuid/password/auth, subId and created_at survive)."""
        client = {}
        if record.get("uuid"):
            client["id"] = record["uuid"]  # in the record, "id" is the row number
        for name in CLIENT_FIELDS:
            value = record.get(name)
            if value is not None and value != "":
                client[name] = value
        reverse = record.get("reverse")
        if isinstance(reverse, str) and reverse.strip():
            try:
                reverse = json.loads(reverse)
            except ValueError:
                reverse = None
        if isinstance(reverse, dict):
            client["reverse"] = reverse
        allowed = record.get("allowedIPs")
        if isinstance(allowed, list):
            client["allowedIPs"] = allowed
        elif isinstance(allowed, str) and allowed.strip():
            client["allowedIPs"] = [part.strip() for part in allowed.split(",") if part.strip()]
        return client
