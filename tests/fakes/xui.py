"""A fake 3x-ui (MHSanaei/3x-ui) panel: a real HTTP server on loopback, both API generations.

Read from the panel's own source (the mirror of github.com/MHSanaei/3x-ui, tags v2.4.0 … v3.6.0 and
dev-latest of 2026-08-22), not from memory. Files: web/controller/{api,base,util,index,inbound,server}.go,
web/service/inbound.go, web/session/session.go, web/web.go, web/middleware/security.go (v3.0),
database/model/model.go, xray/client_traffic.go, sub/subController.go, sub/subService.go,
web/translation/translate.en_US.toml; for 3.1+ the same under web/ or internal/ plus
internal/web/controller/client.go, internal/web/service/client_{crud,lookup,paging,inbound_apply,traffic}.go,
internal/web/session/csrf.go, internal/web/controller/login_limiter.go, internal/sub/controller.go.

Interface
---------
``FakeXui(version="2.9.2", base_path="/panel-x7Qd/", username="admin", password="admin-pass",
api_token=None, sub_port_path="/sub/")`` starts two servers on 127.0.0.1 (the panel and the
subscription server, each on its own port, as the real one uses 2053 and 2096).
Attributes: ``url`` (panel base, e.g. ``http://127.0.0.1:PORT/panel-x7Qd``; API paths are relative to
it), ``sub_url`` (``http://127.0.0.1:PORT2/sub/``; ``GET sub_url + subId``), ``version``, ``v`` (tuple),
``line`` ("2.x" or "3.1+"), ``cookie_name``, ``calls`` (``Call(method, path, body, at, query, server)``;
path relative to the base path, body parsed from JSON or form, ``at`` = time.monotonic()), ``lock``.
Knobs: ``fail_next(route_substring, kind, times=1, msg=None)`` with kinds success_false, http500,
timeout_after_act (``hold_seconds``, default 30), drop, empty; ``down`` (property); ``latency``;
``duplicate_email_bug``; ``expire_sessions(tokens=False)``; ``add_api_token``; ``revoke_api_tokens``;
``reset_login_limiter``; ``add_inbound(protocol, port=, remark=, stream_settings=, settings=, listen=,
enable=) -> id``; ``add_clients(inbound_id, [client, …])`` (bulk setup without HTTP);
``set_usage(email, up=, down=)``; ``set_last_online(email, ms)``; ``set_online([emails])``; ``stop()``.
Queries: ``client(email)``, ``clients()`` (every entry, with ``_inboundId``), ``client_inbounds(email)``,
``traffic(email)``, ``inbound(id)``, ``count_calls(route_substring)``, ``calls_to(route_substring)``.

The two lines (``FakeXui.line``)
--------------------------------
* ``"2.x"`` — every version below 3.1.0 (2.x and 3.0.x). Cookie login, clients live inside each
  inbound's ``settings`` JSON *string*; routes ``/panel/api/inbounds/{addClient, updateClient/:clientId,
  :id/delClient/:clientId, :id/delClientByEmail/:email (2.8.0+), getClientTraffics/:email,
  getClientTrafficsById/:id, :id/resetClientTraffic/:email, updateClientTraffic/:email, onlines,
  lastOnline}``, ``list``, ``get/:id``; ``/panel/api/server/status`` (2.7.0+).
* ``"3.1+"`` — 3.1.0 and later (e.g. "3.6.0"). The inbound client routes are gone (404: gin has no
  such route) and ``/panel/api/clients/*`` exists: ``list`` (every client in one call),
  ``list/paged`` (page, pageSize ≤ 200, default 25, search, sort, order), ``get/:email``,
  ``get/tgId/:tgId`` (3.6.0+), ``traffic/:email``, ``links/:email``, ``subLinks/:subId``, ``add``,
  ``update/:email``, ``del/:email`` (``?keepTraffic=1``), ``:email/attach``, ``:email/detach``,
  ``resetTraffic/:email``, ``updateTraffic/:email``, ``onlines``, ``lastOnline``. ``/list`` and
  ``/get/:id`` emit ``settings``/``streamSettings``/``sniffing`` as nested JSON objects, not strings.

Bearer API tokens and the CSRF rule arrived with 3.0.0, one release *before* the client routes moved:
a 3.0.x panel has the old inbound client routes but already needs ``X-CSRF-Token`` on every cookie
POST, including ``POST /login`` itself.

How a client tells the lines apart (what the real panel offers)
--------------------------------------------------------------
1. Before logging in: ``GET {base}/csrf-token`` answers ``{"success":true,"obj":"<token>"}`` on 3.0+
   (and sets the session cookie the token belongs to); on 2.x it is an unknown route: 404.
   A 200 means "send ``X-CSRF-Token`` with the login and every cookie POST, or use a Bearer token".
2. After authenticating: ``GET /panel/api/server/status`` → ``obj.panelVersion`` ("3.6.0") exists
   from 3.1.0 on, exactly the release that has ``/panel/api/clients/*``; it is absent up to 3.0.x.
   ``obj.xray.version`` is the *xray-core* version, not the panel's: useless for this.
3. The login page (``GET {base}/``) names the panel version on 2.x (asset URLs
   ``assets/css/custom.min.css?2.9.2``) and on 3.0.x (``window.__X_UI_CUR_VER__="3.0.2"``); from 3.1.0
   on it does not (web/controller/dist.go skips the version for login.html).
A realistic adapter: try the Bearer token or log in (with the CSRF token when step 1 answered 200),
then read ``server/status``: ``panelVersion`` present → clients API, else the inbound routes.

Where panels.md (section 2.3) and the code disagree
----------------------------------------------------
* The client routes left ``/panel/api/inbounds`` in **3.1.0**, not 3.2.0 (v3.1.0 web/controller/inbound.go
  and the new web/controller/client.go). 3.0.x still has them.
* API tokens (``Authorization: Bearer``) and CSRF are **3.0.0** (web/controller/api.go checkAPIAuth,
  web/middleware/security.go CSRFMiddleware). ``POST /login`` is behind the CSRF middleware too
  (web/controller/index.go), so a cookie client must ``GET /csrf-token`` before logging in.
* ``checkAPIAuth`` answering **404** exists only since **2.8.4**; up to 2.8.3 the API used
  ``checkLogin``: 307 redirect to the base path, or 401 ``{"success":false,"msg":"Your session has
  expired, please log in again"}`` with ``X-Requested-With: XMLHttpRequest``. On 3.1+ the XHR case is
  a bare 401 without a body. The fake does all three by version.
* The cookie is named ``3x-ui`` since **2.4.0** (web/web.go), not 2.6; before that ``session``.
* ``getClientTraffics/:email`` for an unknown email answers ``obj: null`` only before 2.8.1; from 2.8.1
  to 3.2.x it answers ``success:false`` "Error getting traffics. (Inbound Not Found For Email: x\\n)"
  (GetClientTrafficByEmail → GetClientByEmail). ``/panel/api/clients/traffic/:email`` (3.3.0+) answers
  ``null`` again. Check ``success`` and ``obj`` both.
* Error texts come from ``common.NewError`` = ``fmt.Sprintln``: they end with a newline inside the
  parentheses: ``"Something went wrong (Duplicate email: bob\\n)"``. Match on substrings.
* ``updateClient`` for a clientId that is not in the inbound answers "empty client ID", not "not found".
* ``delClient`` for an unknown clientId answers **success:true** and deletes nothing (2.x), and deleting
  the **last** client of an inbound is refused: "no client remained in Inbound" (2.x and 3.0.x).
* ``/get/:id`` returns ``clientStats: null`` (GetInbound does not preload them); only ``/list`` has them.
* 3.1+ ``/list`` returns settings as objects (model.Inbound MarshalJSON), not JSON strings.
* 3.1+ ``POST /clients/update/:email`` replaces the client with the body: an omitted ``totalGB`` or
  ``expiryTime`` becomes 0 (unlimited, never) and an omitted ``enable`` becomes false. Only the
  credentials (uuid/password/auth), subId and created_at are kept when omitted. Send the whole client.
* 3.1+ ``POST /clients/add`` forces ``enable`` to true, generates the UUID/password when missing and
  a subId (UUID) when empty; ``email`` must not contain ``/``, ``\\``, spaces or control characters.
  The same email with the *same* subId is accepted (it is the same identity on more inbounds).
* In ``/panel/api/clients/*`` answers the client UUID is ``uuid``; ``id`` is the database row number.
  Inside inbound settings the UUID is ``id``.
* 3.0+ logins are rate limited: 5 failures within 5 minutes for (ip, username) block that pair for
  15 minutes, answering "wrong username or password" even to the right password.
* The subscription server answers an unknown subId with 400 "Error!" before 3.1.0 and a bodiless 404
  after; only enabled clients contribute links; ``expire`` in ``Subscription-Userinfo`` is seconds.
* ``duplicate_email_bug`` (issue #4438, v3.0.2: "the API lets a second client with the same email in"):
  in 3.0.x ``checkEmailsExistForClients`` exempts an email whose existing entry carries the same
  non-empty subId, so such an addClient is appended again, even to the same inbound. The fake
  reproduces that code path (on by default for 3.0.x, a knob for any 2.x-line version).
* Sessions: the real cookie store is a signed cookie (gin-contrib/sessions cookie store), so a session
  "expires" by MaxAge (default 360 minutes) or, on 3.x, by the user's LoginEpoch changing; API tokens
  never expire by time, they are deleted. ``expire_sessions()`` models the first; ``revoke_api_tokens()``
  (or ``expire_sessions(tokens=True)``) the second.

Not modelled: two-factor codes, inbound add/update/delete through the API, IP limits, nodes, groups,
external links, Clash/JSON subscriptions, traffic enforcement (the tests set usage with ``set_usage``).
Share links are built from the inbound's stream settings in the panel's format but only for the
tcp/ws/grpc networks and none/tls/reality security; the remark is "<inbound remark>-<email>".
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import gzip
import json
import re
import secrets
import socket
import struct
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

XRAY_VERSION = "26.7.11"
SESSION_MAX_AGE = 360 * 60  # sessionMaxAge default: 360 minutes
LOGIN_LIMIT_FAILURES, LOGIN_LIMIT_WINDOW, LOGIN_LIMIT_COOLDOWN = 5, 300.0, 900.0
PAGE_DEFAULT, PAGE_MAX = 25, 200
FAULT_KINDS = ("success_false", "http500", "timeout_after_act", "drop", "empty")
# model.Client: json field -> Go type (what encoding/json accepts for it)
CLIENT_FIELDS = {"id": str, "security": str, "password": str, "flow": str, "auth": str, "email": str,
                 "limitIp": int, "totalGB": int, "expiryTime": int, "enable": bool, "tgId": int,
                 "subId": str, "group": str, "comment": str, "reset": int, "created_at": int, "updated_at": int}


def _version_tuple(version: str) -> tuple[int, int, int]:
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]]
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


def _sprintln(*parts) -> str:
    """common.NewError: fmt.Sprintln, operands joined by spaces and a trailing newline."""
    return " ".join(str(p) for p in parts) + "\n"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _stamp() -> int:
    """created_at/updated_at inside settings: time.Now().Unix() * 1000, whole seconds in ms."""
    return int(time.time()) * 1000


def _go_kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _typed(value, kind):
    """What encoding/json leaves in a typed field: the value if it fits, else the zero value (the
    real code ignores the UnmarshalTypeError in GetClients and keeps the fields that did fit)."""
    if kind is bool:
        return value if isinstance(value, bool) else False
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0
    return value if isinstance(value, str) else ""


def typed_client(raw) -> dict:
    """A settings client as model.Client sees it."""
    raw = raw if isinstance(raw, dict) else {}
    return {name: _typed(raw.get(name), kind) for name, kind in CLIENT_FIELDS.items()}


def _go_json(payload) -> bytes:
    """encoding/json output: compact, UTF-8, with <, > and & escaped as gin's c.JSON does."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def _indent(settings: dict) -> str:
    """json.MarshalIndent(map, "", "  "): Go sorts map keys."""
    return json.dumps(settings, indent=2, sort_keys=True, ensure_ascii=False)


def _json_error(text: str, exc: ValueError) -> str:
    if not text.strip():
        return "unexpected end of JSON input"
    pos = getattr(exc, "pos", 0) or 0
    char = text[pos] if pos < len(text) else ""
    if not char:
        return "unexpected end of JSON input"
    return f"invalid character '{char}' looking for beginning of value"


class _Fail(Exception):  # noqa: N818 - a service error: answered as success:false
    def __init__(self, err: str):
        super().__init__(err)
        self.err = err


class _Panic(Exception):  # noqa: N818 - a Go panic: gin's recovery answers 500 with no body
    pass


class _BindError(Exception):
    pass


@dataclass
class Call:
    method: str
    path: str  # relative to the panel's base path ("/panel/api/inbounds/list"); the sub server's own path
    body: object
    at: float
    query: dict = field(default_factory=dict)
    server: str = "panel"  # or "sub"


@dataclass
class _Resp:
    status: int = 200
    payload: object = None  # JSON-encoded when body is None
    body: bytes | None = None
    headers: list = field(default_factory=list)
    content_type: str = "application/json; charset=utf-8"


@dataclass
class _Req:
    method: str
    path: str
    query: dict
    headers: object
    raw: bytes
    session_id: str | None = None
    session: dict | None = None
    api_authed: bool = False
    set_cookie: str | None = None

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default listen backlog (5) resets connections under load
    daemon_threads = True

    def __init__(self, address, handler):
        self.open_connections: set = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)


@dataclass
class _Inbound:
    id: int
    port: int
    protocol: str
    remark: str
    settings: dict
    stream: dict
    sniffing: dict
    listen: str = ""
    enable: bool = True
    up: int = 0
    down: int = 0
    total: int = 0
    all_time: int = 0
    expiry_time: int = 0
    by_key: dict = field(default_factory=dict)  # the protocol's client key (id/password/email) -> [(id, raw)]

    @property
    def client_key(self) -> str:
        return {"trojan": "password", "shadowsocks": "email"}.get(self.protocol, "id")

    @property
    def clients(self) -> list:
        clients = self.settings.get("clients")
        return clients if isinstance(clients, list) else []

    @property
    def tag(self) -> str:
        return f"inbound-{self.port}" if self.listen in ("", "0.0.0.0", "::", "::0") else f"inbound-{self.listen}:{self.port}"


def _default_settings(protocol: str) -> dict:
    if protocol == "vless":
        return {"clients": [], "decryption": "none", "encryption": "none", "fallbacks": []}
    if protocol == "trojan":
        return {"clients": [], "fallbacks": []}
    if protocol == "shadowsocks":
        return {"method": "2022-blake3-aes-256-gcm", "password": base64.b64encode(secrets.token_bytes(32)).decode(),
                "network": "tcp,udp", "clients": [], "ivCheck": False}
    return {"clients": []}


DEFAULT_STREAM = {"network": "tcp", "security": "none", "externalProxy": [],
                  "tcpSettings": {"acceptProxyProtocol": False, "header": {"type": "none"}}}
DEFAULT_SNIFFING = {"enabled": False, "destOverride": ["http", "tls", "quic", "fakedns"], "metadataOnly": False,
                    "routeOnly": False}


class FakeXui:
    """See the module docstring. Knobs: fail_next, down, latency, hold_seconds, duplicate_email_bug,
    expire_sessions, revoke_api_tokens, add_api_token, add_inbound, add_clients, set_usage,
    set_last_online, set_online. Queries: client, clients, traffic, inbound, count_calls, calls."""

    def __init__(self, *, version: str = "2.9.2", base_path: str = "/panel-x7Qd/", username: str = "admin",
                 password: str = "admin-pass", api_token: str | None = None, sub_port_path: str = "/sub/"):
        self.version = version.lstrip("v")
        self.v = _version_tuple(self.version)
        self.line = "3.1+" if self.v >= (3, 1, 0) else "2.x"
        if not base_path.startswith("/"):
            base_path = "/" + base_path
        if not base_path.endswith("/"):
            base_path += "/"
        self.base_path = base_path
        self.username, self.password = username, password
        self.sub_path = "/" + sub_port_path.strip("/") + "/"
        self.cookie_name = "3x-ui" if self.v >= (2, 4, 0) else "session"
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self.latency = 0.0
        self.hold_seconds = 30.0  # how long "timeout_after_act" holds the answer before dropping it
        self.duplicate_email_bug = (3, 0, 0) <= self.v < (3, 1, 0)
        self._api_tokens: set[str] = set()
        if api_token:
            self.add_api_token(api_token)
        self._faults: deque = deque()
        self._sessions: dict[str, dict] = {}
        self._login_failures: dict[tuple, dict] = {}
        self._inbounds: dict[int, _Inbound] = {}
        self._next_inbound = 1
        self._by_email: dict[str, list] = {}  # lower(email) -> [(inbound_id, raw client dict)]
        self._by_sub: dict[str, list] = {}  # subId -> [(inbound_id, raw client dict)]
        self._record_subs: dict[str, str] = {}  # 3.1+: subId -> email of the client record
        self._traffic: dict[str, dict] = {}  # client_traffics, unique on the exact email
        self._next_traffic = 1
        self._records: dict[str, dict] = {}  # 3.1+: the clients table, unique on the exact email
        self._next_record = 1
        self._online: list[str] = []
        self._revision = 0
        self._cache: dict = {}
        self._stopping = threading.Event()
        self._down = False
        self._server_lock = threading.Lock()
        self._servers: dict[str, _Server] = {}
        self._threads: list[threading.Thread] = []
        self._start_servers(0, 0)
        panel_port = self._servers["panel"].server_address[1]
        sub_port = self._servers["sub"].server_address[1]
        self.url = f"http://127.0.0.1:{panel_port}{base_path.rstrip('/')}"
        self.sub_url = f"http://127.0.0.1:{sub_port}{self.sub_path}"

    # -- servers ------------------------------------------------------------------------------
    def _start_servers(self, panel_port: int, sub_port: int):
        for name, port in (("panel", panel_port), ("sub", sub_port)):
            server = _Server(("127.0.0.1", port), self._handler_class(name))
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            self._servers[name] = server
            self._threads.append(thread)
            thread.start()

    def _close_servers(self):
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
            with server.connections_lock:
                connections = list(server.open_connections)
            for conn in connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    @property
    def down(self) -> bool:
        return self._down

    @down.setter
    def down(self, value: bool):
        """True: the panel is unreachable: both ports stop listening (connection refused) and open
        keep-alive connections are closed. False: it listens again on the same ports."""
        with self._server_lock:
            if value and not self._down:
                self._down = True
                ports = {name: s.server_address[1] for name, s in self._servers.items()}
                self._ports = ports
                self._close_servers()
            elif not value and self._down:
                self._start_servers(self._ports["panel"], self._ports["sub"])
                self._down = False

    def stop(self):
        self._stopping.set()
        with self._server_lock:
            if not self._down:
                self._close_servers()
            self._down = True

    # -- knobs --------------------------------------------------------------------------------
    def fail_next(self, route_substring: str, kind: str, times: int = 1, *, msg: str | None = None):
        """The next `times` requests whose path contains route_substring fail as `kind`:
        success_false (200, success:false, nothing done), http500 (500, empty body, nothing done),
        timeout_after_act (done, then the answer is held hold_seconds and the connection dropped),
        drop (connection closed before anything is done), empty (done, then 200 with an empty body:
        the v2.6 addClient quirk, issues #3052/#3236)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FAULT_KINDS}")
        with self.lock:
            for _ in range(times):
                self._faults.append((route_substring, kind, msg))

    def expire_sessions(self, *, tokens: bool = False):
        """Every session cookie (and its CSRF token) stops working, as when sessionMaxAge runs out.
        tokens=True also revokes every API token."""
        with self.lock:
            self._sessions.clear()
            if tokens:
                self._api_tokens.clear()

    def add_api_token(self, token: str):
        with self.lock:
            self._api_tokens.add(token)

    def revoke_api_tokens(self):
        with self.lock:
            self._api_tokens.clear()

    def reset_login_limiter(self):
        with self.lock:
            self._login_failures.clear()

    def add_inbound(self, protocol: str = "vless", *, port: int | None = None, remark: str = "",
                    stream_settings: dict | str | None = None, settings: dict | str | None = None,
                    listen: str = "", enable: bool = True) -> int:
        if protocol not in ("vless", "vmess", "trojan", "shadowsocks"):
            raise ValueError(f"protocol {protocol!r} is not modelled")
        if isinstance(stream_settings, str):
            stream_settings = json.loads(stream_settings)
        if isinstance(settings, str):
            settings = json.loads(settings)
        with self.lock:
            inbound_id = self._next_inbound
            self._next_inbound += 1
            if port is None:
                port = 44300 + inbound_id
            if any(ib.port == port for ib in self._inbounds.values()):
                raise ValueError(f"port {port} is already used by another inbound")
            ib_settings = dict(settings) if settings else _default_settings(protocol)
            ib_settings.setdefault("clients", [])
            self._inbounds[inbound_id] = _Inbound(
                inbound_id, port, protocol, remark or f"{protocol}-{port}", ib_settings,
                json.loads(json.dumps(stream_settings or DEFAULT_STREAM)), dict(DEFAULT_SNIFFING), listen, enable)
            clients, ib_settings["clients"] = list(ib_settings["clients"]), []
            self._bump()
        if clients:
            self.add_clients(inbound_id, clients)
        return inbound_id

    def add_clients(self, inbound_id: int, clients: list[dict]):
        """Put clients straight into an inbound (test setup, no HTTP). The rules are the panel's:
        a duplicate email raises ValueError. Missing id/password/subId are generated."""
        with self.lock:
            inbound = self._inbound_or_raise(inbound_id)
            now = _stamp()
            for raw in clients:
                raw = dict(raw)
                if not raw.get("email"):
                    raise ValueError("the fake needs an email for every client")
                if raw["email"].lower() in self._by_email:
                    raise ValueError(f"Duplicate email: {raw['email']}")
                self._fill_credentials(raw, inbound)
                raw.setdefault("enable", True)
                raw.setdefault("subId", secrets.token_hex(8))
                for name, default in (("limitIp", 0), ("totalGB", 0), ("expiryTime", 0), ("tgId", 0),
                                      ("comment", ""), ("reset", 0), ("security", ""), ("flow", "")):
                    raw.setdefault(name, default)
                raw.setdefault("created_at", now)
                raw.setdefault("updated_at", now)
                self._append_client(inbound, raw)
                if self.line == "3.1+":
                    self._upsert_record(raw, inbound.id)
            self._bump()

    def set_usage(self, email: str, *, up: int | None = None, down: int | None = None):
        """Set a client's counters (bytes). When they grow and the client's expiryTime is negative
        ("start on first use"), the expiry starts now, as the panel's traffic job does (adjustTraffics)."""
        with self.lock:
            row = self._traffic_or_raise(email)
            before = row["up"] + row["down"]
            if up is not None:
                row["up"] = int(up)
            if down is not None:
                row["down"] = int(down)
            grown = row["up"] + row["down"] - before
            if grown > 0:
                if "allTime" in row:
                    row["allTime"] += grown
                if row["expiryTime"] < 0:
                    self._start_expiry(email, _stamp() - row["expiryTime"])
            self._bump()

    def set_last_online(self, email: str, ms: int):
        with self.lock:
            self._traffic_or_raise(email)["lastOnline"] = int(ms)
            self._bump()

    def set_online(self, emails: list[str]):
        with self.lock:
            self._online = list(emails)

    # -- queries ------------------------------------------------------------------------------
    def client(self, email: str) -> dict | None:
        """The client as stored in its (first) inbound's settings, or None."""
        with self.lock:
            entries = self._by_email.get(email.lower()) or []
            for _, raw in entries:
                if raw.get("email") == email:
                    return json.loads(json.dumps(raw))
            return json.loads(json.dumps(entries[0][1])) if entries else None

    def clients(self) -> list[dict]:
        """Every client entry of every inbound (an email on two inbounds appears twice)."""
        with self.lock:
            out = []
            for inbound in self._inbounds.values():
                for raw in inbound.clients:
                    entry = json.loads(json.dumps(raw))
                    entry["_inboundId"] = inbound.id
                    out.append(entry)
            return out

    def client_inbounds(self, email: str) -> list[int]:
        with self.lock:
            return [ib for ib, _ in self._by_email.get(email.lower()) or []]

    def traffic(self, email: str) -> dict | None:
        with self.lock:
            row = self._traffic.get(email)
            return dict(row) if row else None

    def inbound(self, inbound_id: int) -> dict | None:
        with self.lock:
            inbound = self._inbounds.get(inbound_id)
            return json.loads(json.dumps(self._inbound_json(inbound, stats=True))) if inbound else None

    def count_calls(self, route_substring: str = "") -> int:
        with self.lock:
            return sum(1 for c in self.calls if route_substring in c.path)

    def calls_to(self, route_substring: str = "") -> list[Call]:
        with self.lock:
            return [c for c in self.calls if route_substring in c.path]

    # -- state helpers (call with the lock held) -------------------------------------------------
    def _bump(self):
        self._revision += 1

    def _inbound_or_raise(self, inbound_id: int) -> _Inbound:
        inbound = self._inbounds.get(inbound_id)
        if inbound is None:
            raise ValueError(f"no inbound {inbound_id}")
        return inbound

    def _traffic_or_raise(self, email: str) -> dict:
        row = self._traffic.get(email)
        if row is None:
            raise KeyError(f"no client traffic row for {email!r}")
        return row

    def _fill_credentials(self, raw: dict, inbound: _Inbound):
        if inbound.protocol in ("vless", "vmess") and not raw.get("id"):
            raw["id"] = str(uuid.uuid4())
        elif inbound.protocol == "trojan" and not raw.get("password"):
            raw["password"] = uuid.uuid4().hex
        elif inbound.protocol == "shadowsocks" and not raw.get("password"):
            raw["password"] = base64.b64encode(secrets.token_bytes(32)).decode()

    def _start_expiry(self, email: str, expiry: int):
        self._traffic[email]["expiryTime"] = expiry
        for _, raw in self._by_email.get(email.lower()) or []:
            if raw.get("email") == email:
                raw["expiryTime"] = expiry
                raw["updated_at"] = _stamp()
        record = self._records.get(email)
        if record:
            record["expiryTime"] = expiry

    @staticmethod
    def _unindex(index: dict, key: str, raw: dict):
        entries = [(i, c) for i, c in index.get(key, []) if c is not raw]
        if entries:
            index[key] = entries
        else:
            index.pop(key, None)

    def _index(self, inbound: _Inbound, raw: dict, *, add: bool):
        """The lookups the panel does by scanning settings JSON, kept as indexes so 10,000 clients stay
        fast: lower(email) (uniqueness), subId (subscriptions), the protocol's client key (clientId)."""
        keys = ((self._by_email, _typed(raw.get("email"), str).lower()), (self._by_sub, _typed(raw.get("subId"), str)),
                (inbound.by_key, _typed(raw.get(inbound.client_key), str)))
        for index, key in keys:
            if not key:
                continue
            if add:
                index.setdefault(key, []).append((inbound.id, raw))
            else:
                self._unindex(index, key, raw)

    def _append_client(self, inbound: _Inbound, raw: dict):
        if not isinstance(inbound.settings.get("clients"), list):
            inbound.settings["clients"] = []
        inbound.settings["clients"].append(raw)
        if isinstance(raw, dict):
            self._index(inbound, raw, add=True)
            if _typed(raw.get("email"), str):
                self._add_client_stat(inbound.id, typed_client(raw))

    def _remove_client(self, inbound: _Inbound, raw: dict):
        inbound.settings["clients"] = [c for c in inbound.clients if c is not raw]
        self._index(inbound, raw, add=False)

    def _replace_client(self, inbound: _Inbound, old: dict, new: dict):
        clients = inbound.clients
        clients[next(i for i, c in enumerate(clients) if c is old)] = new
        self._index(inbound, old, add=False)
        self._index(inbound, new, add=True)

    def _find(self, inbound: _Inbound, *, key: str = "", email: str = "") -> dict | None:
        """The first client of an inbound with this clientId (exact) or email (case-insensitive)."""
        entries = inbound.by_key.get(key, []) if key else self._by_email.get(email.lower(), [])
        return next((raw for ib, raw in entries if ib == inbound.id), None)

    def _add_client_stat(self, inbound_id: int, client: dict):
        """AddClientStat: one client_traffics row per email (unique; a second insert fails and the
        panel ignores the error)."""
        if client["email"] in self._traffic:
            return
        row = {"id": self._next_traffic, "inboundId": inbound_id, "enable": client["enable"], "email": client["email"],
               "uuid": "", "subId": "", "up": 0, "down": 0}
        if (2, 6, 7) <= self.v < (3, 1, 0):
            row["allTime"] = 0
        row.update({"expiryTime": client["expiryTime"], "total": client["totalGB"], "reset": client["reset"],
                    "lastOnline": 0})
        self._next_traffic += 1
        self._traffic[client["email"]] = row

    def _update_client_stat(self, old_email: str, client: dict):
        row = self._traffic.get(old_email)
        if row is None:
            return
        row.update({"enable": client["enable"], "email": client["email"], "total": client["totalGB"],
                    "expiryTime": client["expiryTime"], "reset": client["reset"]})
        if client["email"] != old_email:
            del self._traffic[old_email]
            self._traffic[client["email"]] = row

    def _emails_taken(self, clients: list[dict]) -> str:
        """checkEmailsExistForClients (2.x), with the 3.0.x same-subId exemption when the bug knob is on."""
        seen: dict[str, str] = {}
        for client in clients:
            email = client["email"]
            if not email:
                continue
            key = email.lower()
            if key in seen:
                if not self.duplicate_email_bug or seen[key] != client["subId"] or not client["subId"]:
                    return email
                continue
            seen[key] = client["subId"]
            entries = self._by_email.get(key)
            if entries:
                if not self.duplicate_email_bug:
                    return email
                subs = {_typed(raw.get("subId"), str) for _, raw in entries}
                existing = subs.pop() if len(subs) == 1 else ""
                if not client["subId"] or not existing or existing != client["subId"]:
                    return email
        return ""

    # -- JSON shapes ----------------------------------------------------------------------------
    def _stats_for(self, inbound: _Inbound) -> list[dict]:
        stats = []
        for row in self._traffic.values():
            if row["inboundId"] != inbound.id:
                continue
            row = dict(row)
            raw = self._find(inbound, email=row["email"])  # GetInbounds: UUID and SubId from the settings
            if raw is not None:
                row["uuid"], row["subId"] = _typed(raw.get("id"), str), _typed(raw.get("subId"), str)
            stats.append(row)
        stats.sort(key=lambda r: r["id"])
        return stats

    def _inbound_json(self, inbound: _Inbound, *, stats: bool) -> dict:
        objects = self.line == "3.1+"
        out = {"id": inbound.id, "up": inbound.up, "down": inbound.down, "total": inbound.total}
        if not objects:
            out["allTime"] = inbound.all_time
        out.update({"remark": inbound.remark, "enable": inbound.enable, "expiryTime": inbound.expiry_time,
                    "trafficReset": "never", "lastTrafficResetTime": 0,
                    "clientStats": self._stats_for(inbound) if stats else None,
                    "listen": inbound.listen, "port": inbound.port, "protocol": inbound.protocol})
        if objects:
            out.update({"settings": inbound.settings, "streamSettings": inbound.stream, "tag": inbound.tag,
                        "sniffing": inbound.sniffing, "shareAddrStrategy": "node", "shareAddr": ""})
        else:
            out.update({"settings": _indent(inbound.settings), "streamSettings": _indent(inbound.stream),
                        "tag": inbound.tag, "sniffing": _indent(inbound.sniffing)})
        return out

    def _record_json(self, record: dict) -> dict:
        return {k: v for k, v in record.items() if not k.startswith("_")}

    def _cached(self, key: str, build) -> bytes:
        """A whole response body, rebuilt only when the state changed (lists of 10,000 clients)."""
        hit = self._cache.get(key)
        if hit and hit[0] == self._revision:
            return hit[1]
        body = _go_json(build())
        self._cache[key] = (self._revision, body)
        return body

    # -- the HTTP layer -------------------------------------------------------------------------
    def _msg(self, key: str) -> str:
        v3 = self.v >= (3, 1, 0)
        return {
            "somethingWentWrong": "Something went wrong",
            "obtain": "Obtain",
            "get": "Get",
            "trafficGetError": "Error getting traffic." if v3 else "Error getting traffics.",
            "inboundClientAddSuccess": "Inbound client(s) have been added.",
            "inboundClientDeleteSuccess": "Inbound client has been deleted.",
            "inboundClientUpdateSuccess": "Inbound client has been updated.",
            "resetInboundClientTrafficSuccess": "Traffic has been reset.",
            "inboundUpdateSuccess": "Inbound has been successfully updated.",
            "wrongUsernameOrPassword": "Invalid username or password or two-factor code.",
            "successLogin": "You have successfully logged into your account." if v3
            else " You have successfully logged into your account.",
            "emptyUsername": "Username is required",
            "emptyPassword": "Password is required",
            "invalidFormData": "The input data format is invalid." if v3 else "The Input data format is invalid.",
            "loginAgain": "Your session has expired, please log in again",
        }[key]

    @staticmethod
    def _ok(obj=None, msg: str = "") -> _Resp:
        return _Resp(payload={"success": True, "msg": msg, "obj": obj})

    @staticmethod
    def _fail(msg: str, err: str) -> _Resp:
        """jsonMsgObj with an error: HTTP 200, success:false, msg "<text> (<error>)"."""
        return _Resp(payload={"success": False, "msg": f"{msg} ({err})" if err else msg, "obj": None})

    def _routes(self):
        v = self.v
        routes = [
            ("GET", "/", self._h_index),
            ("POST", "/login", self._h_login),
            ("GET", "/panel/api/inbounds/list", self._h_list),
            ("GET", "/panel/api/inbounds/get/:id", self._h_get_inbound),
        ]
        if v >= (3, 0, 0):
            routes.append(("GET", "/csrf-token", self._h_csrf_token))
        routes.append(("POST" if v >= (3, 0, 2) else "GET", "/logout", self._h_logout))
        if v >= (2, 7, 0):
            routes.append(("GET", "/panel/api/server/status", self._h_status))
        if self.line == "2.x":
            p = "/panel/api/inbounds"
            routes += [
                ("GET", f"{p}/getClientTraffics/:email", self._h_get_client_traffics),
                ("GET", f"{p}/getClientTrafficsById/:id", self._h_get_client_traffics_by_id),
                ("POST", f"{p}/addClient", self._h_add_client),
                ("POST", f"{p}/updateClient/:clientId", self._h_update_client),
                ("POST", f"{p}/:id/delClient/:clientId", self._h_del_client),
                ("POST", f"{p}/:id/resetClientTraffic/:email", self._h_reset_client_traffic),
                ("POST", f"{p}/onlines", self._h_onlines),
            ]
            if v >= (2, 7, 0):
                routes += [("POST", f"{p}/lastOnline", self._h_last_online),
                           ("POST", f"{p}/updateClientTraffic/:email", self._h_update_client_traffic)]
            if v >= (2, 8, 0):
                routes.append(("POST", f"{p}/:id/delClientByEmail/:email", self._h_del_client_by_email))
        else:
            p = "/panel/api/clients"
            routes += [
                ("GET", f"{p}/list", self._h_clients_list),
                ("GET", f"{p}/list/paged", self._h_clients_paged),
                ("GET", f"{p}/get/:email", self._h_clients_get),
                ("GET", f"{p}/traffic/:email", self._h_clients_traffic),
                ("GET", f"{p}/subLinks/:subId", self._h_clients_sub_links),
                ("GET", f"{p}/links/:email", self._h_clients_links),
                ("POST", f"{p}/add", self._h_clients_add),
                ("POST", f"{p}/update/:email", self._h_clients_update),
                ("POST", f"{p}/del/:email", self._h_clients_del),
                ("POST", f"{p}/:email/attach", self._h_clients_attach),
                ("POST", f"{p}/:email/detach", self._h_clients_detach),
                ("POST", f"{p}/resetTraffic/:email", self._h_clients_reset_traffic),
                ("POST", f"{p}/updateTraffic/:email", self._h_update_client_traffic),
                ("POST", f"{p}/onlines", self._h_onlines),
                ("POST", f"{p}/lastOnline", self._h_last_online),
            ]
            if v >= (3, 6, 0):
                routes.append(("GET", f"{p}/get/tgId/:tgId", self._h_clients_by_tg))
        return [(m, [s for s in pattern.split("/") if s], h) for m, pattern, h in routes]

    def _match(self, method: str, path: str):
        segments = [s for s in path.split("/") if s]
        if path.endswith("/") and path != "/":
            return None, {}
        for m, pattern, handler in self._route_table:
            if m != method or len(pattern) != len(segments):
                continue
            params = {}
            for want, got in zip(pattern, segments, strict=True):
                if want.startswith(":"):
                    params[want[1:]] = got
                elif want != got:
                    break
            else:
                return handler, params
        return None, {}

    @property
    def _route_table(self):
        table = getattr(self, "_route_table_cache", None)
        if table is None:
            table = self._route_table_cache = self._routes()
        return table

    def _serve_panel(self, req: _Req) -> _Resp:
        if not req.path.startswith(self.base_path):
            return _Resp(404, body=b"", content_type="text/plain")
        rel = "/" + req.path[len(self.base_path):]
        handler, params = self._match(req.method, rel)
        if handler is None:
            return _Resp(404, body=b"", content_type="text/plain")  # gin NoRoute: 404, no middleware ran
        self._load_session(req)
        if rel.startswith("/panel/api/"):
            denied = self._check_api_auth(req)
            if denied:
                return denied
        guarded = rel.startswith("/panel/api/") or rel in ("/login", "/logout")
        unsafe = req.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
        if self.v >= (3, 0, 0) and guarded and unsafe and not req.api_authed and not self._csrf_ok(req):
            return _Resp(403, body=b"", content_type="text/plain")  # CSRFMiddleware
        try:
            return handler(req, **params)
        except _Panic:
            return _Resp(500, body=b"", content_type="text/plain")

    # -- sessions, tokens, CSRF ------------------------------------------------------------------
    def _load_session(self, req: _Req):
        cookie = req.headers.get("Cookie") or ""
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie_name and value in self._sessions:
                req.session_id, req.session = value, self._sessions[value]
                return

    def _save_session(self, req: _Req, session: dict):
        """gin-contrib/sessions cookie store: every Save re-issues the cookie."""
        token = secrets.token_urlsafe(32)
        self._sessions[token] = session
        req.session_id, req.session = token, session
        expires = formatdate(time.time() + SESSION_MAX_AGE, usegmt=True)
        req.set_cookie = (f"{self.cookie_name}={token}; Path={self.base_path}; Expires={expires}; "
                          f"Max-Age={SESSION_MAX_AGE}; HttpOnly; SameSite=Lax")

    def _check_api_auth(self, req: _Req) -> _Resp | None:
        auth = req.headers.get("Authorization") or ""
        if self.v >= (3, 0, 0) and auth.startswith("Bearer ") and auth[len("Bearer "):] in self._api_tokens:
            req.api_authed = True
            return None
        if req.session and req.session.get("user"):
            return None
        xhr = req.headers.get("X-Requested-With") == "XMLHttpRequest"
        if self.v < (2, 8, 4):  # checkLogin
            if xhr:
                return _Resp(401, payload={"success": False, "msg": self._msg("loginAgain"), "obj": None})
            return _Resp(307, body=b"", content_type="text/html; charset=utf-8", headers=[("Location", self.base_path)])
        if self.v >= (3, 1, 0) and xhr:
            return _Resp(401, body=b"", content_type="text/plain")
        return _Resp(404, body=b"", content_type="text/plain")

    def _csrf_ok(self, req: _Req) -> bool:
        expected = (req.session or {}).get("csrf")
        if not expected:
            return False
        actual = req.headers.get("X-CSRF-Token") or ""
        if not actual and req.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            actual = str(self._form(req).get("_csrf") or "")
        return secrets.compare_digest(actual.encode(), expected.encode())

    # -- request binding (gin's ShouldBind) ----------------------------------------------------------
    def _form(self, req: _Req) -> dict:
        form = dict(req.query)
        if req.content_type == "application/x-www-form-urlencoded":
            form.update(parse_qsl(req.raw.decode("utf-8", "replace"), keep_blank_values=True))
        elif req.content_type == "multipart/form-data":
            content_type = req.headers.get("Content-Type") or ""
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + req.raw)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name:
                    form[name] = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        return form

    def _json_body(self, req: _Req):
        text = req.raw.decode("utf-8", "replace")
        if not text.strip():
            raise _BindError("EOF")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _BindError(_json_error(text, exc))

    def _bind(self, req: _Req) -> tuple[dict, bool]:
        """(fields, from_json): c.ShouldBind picks JSON for application/json, else form + query."""
        if req.content_type == "application/json":
            data = self._json_body(req)
            if not isinstance(data, dict):
                raise _BindError(f"json: cannot unmarshal {_go_kind(data)} into Go value of type model.Inbound")
            return data, True
        return self._form(req), False

    def _bind_inbound(self, req: _Req) -> tuple[int, str]:
        """Bind {id, settings} into model.Inbound."""
        data, from_json = self._bind(req)
        raw_id, settings = data.get("id", 0), data.get("settings", "")
        if from_json:
            if raw_id is None:
                raw_id = 0
            if not isinstance(raw_id, int) or isinstance(raw_id, bool):
                raise _BindError(f"json: cannot unmarshal {_go_kind(raw_id)} into Go struct field Inbound.id of type int")
            if settings is None:
                settings = ""
            if not isinstance(settings, str):
                if self.line == "3.1+" and isinstance(settings, dict | list):
                    settings = json.dumps(settings)  # model.Inbound UnmarshalJSON takes either form
                else:
                    raise _BindError(
                        f"json: cannot unmarshal {_go_kind(settings)} into Go struct field Inbound.settings of type string")
            return raw_id, settings
        try:
            return (int(raw_id) if raw_id != "" else 0), str(settings)
        except ValueError:
            raise _BindError(f'strconv.ParseInt: parsing "{raw_id}": invalid syntax')

    @staticmethod
    def _parse_settings(settings: str) -> tuple[list[dict], list]:
        """GetClients (typed, errors ignored) and the raw map's clients (errors returned)."""
        try:
            parsed = json.loads(settings)
        except ValueError as exc:
            raise _Fail(_json_error(settings, exc))
        if not isinstance(parsed, dict):
            raise _Fail(f"json: cannot unmarshal {_go_kind(parsed)} into Go value of type map[string]interface {{}}")
        raw_clients = parsed.get("clients")
        if not isinstance(raw_clients, list):
            raise _Panic()  # settings["clients"].([]any) on a missing or non-list key
        return [typed_client(c) for c in raw_clients], raw_clients

    # -- 2.x handlers -------------------------------------------------------------------------------
    def _h_index(self, req: _Req) -> _Resp:
        if req.session and req.session.get("user"):
            return _Resp(307, body=b"", content_type="text/html", headers=[("Location", self.base_path + "panel/")])
        if self.v >= (3, 0, 0):
            session = req.session or {}
            if not session.get("csrf"):
                session = dict(session, csrf=secrets.token_urlsafe(32))
                self._save_session(req, session)
            if self.v < (3, 1, 0):  # 3.0.x dist.go: the login page still carries the version
                script = f'<script>window.__X_UI_BASE_PATH__="{self.base_path}";window.__X_UI_CUR_VER__="{self.version}";</script>'
            else:
                script = f'<script data-cfasync="false">window.X_UI_BASE_PATH="{self.base_path}";</script>'
            page = (f'<!doctype html><html><head><meta charset="UTF-8"><title>3x-ui</title>{script}'
                    f'<meta name="csrf-token" content="{session["csrf"]}"><meta name="base-path" content="{self.base_path}">'
                    f'</head><body><div id="app"></div></body></html>')
        else:
            page = (f'<!DOCTYPE html><html><head><meta charset="UTF-8">'
                    f'<link rel="stylesheet" href="{self.base_path}assets/ant-design-vue/antd.min.css">'
                    f'<link rel="stylesheet" href="{self.base_path}assets/css/custom.min.css?{self.version}">'
                    f'<title>Log in</title></head><body><div id="app"></div>'
                    f'<script src="{self.base_path}assets/vue/vue.min.js?{self.version}"></script></body></html>')
        return _Resp(200, body=page.encode(), content_type="text/html; charset=utf-8")

    def _h_csrf_token(self, req: _Req) -> _Resp:
        session = req.session or {}
        if not session.get("csrf"):
            session = dict(session, csrf=secrets.token_urlsafe(32))
            self._save_session(req, session)
        return _Resp(payload={"success": True, "obj": session["csrf"]})

    def _h_logout(self, req: _Req) -> _Resp:
        if req.session_id:
            self._sessions.pop(req.session_id, None)
        req.set_cookie = f"{self.cookie_name}=; Path={self.base_path}; Max-Age=0; HttpOnly; SameSite=Lax"
        if self.v >= (3, 0, 2):
            return _Resp(payload={"success": True})
        return _Resp(307, body=b"", content_type="text/html", headers=[("Location", self.base_path)])

    def _h_login(self, req: _Req) -> _Resp:
        def refuse(key):
            return _Resp(payload={"success": False, "msg": self._msg(key), "obj": None})

        try:
            data, _ = self._bind(req)
        except _BindError:
            return refuse("invalidFormData")
        username, password = data.get("username", ""), data.get("password", "")
        if not isinstance(username, str) or not isinstance(password, str):
            return refuse("invalidFormData")
        if not username:
            return refuse("emptyUsername")
        if not password:
            return refuse("emptyPassword")
        limited = self.v >= (3, 0, 0)
        key = ("127.0.0.1", username.strip().lower())
        now = time.monotonic()
        if limited:
            record = self._login_failures.get(key)
            if record and now < record["blocked_until"]:
                return refuse("wrongUsernameOrPassword")
        if not (secrets.compare_digest(username, self.username) and secrets.compare_digest(password, self.password)):
            if limited:
                record = self._login_failures.setdefault(key, {"failures": [], "blocked_until": 0.0})
                record["failures"] = [t for t in record["failures"] if t > now - LOGIN_LIMIT_WINDOW] + [now]
                if len(record["failures"]) >= LOGIN_LIMIT_FAILURES:
                    record["blocked_until"] = now + LOGIN_LIMIT_COOLDOWN
                    record["failures"] = []
            return refuse("wrongUsernameOrPassword")
        if limited:
            self._login_failures.pop(key, None)
        self._save_session(req, dict(req.session or {}, user=username))
        return self._ok(msg=self._msg("successLogin"))

    def _h_status(self, req: _Req) -> _Resp:
        status = {"cpu": 3.2, "cpuCores": 2, "logicalPro": 2, "cpuSpeedMhz": 2400.0,
                  "mem": {"current": 512 << 20, "total": 2 << 30}, "swap": {"current": 0, "total": 0},
                  "disk": {"current": 5 << 30, "total": 40 << 30},
                  "xray": {"state": "running", "errorMsg": "", "version": XRAY_VERSION}}
        if self.v >= (3, 1, 0):
            status.update({"panelVersion": self.version, "panelGuid": "6c1f0d1e-fake-4e0b-9a57-3x-ui-panel"})
        status.update({"uptime": 86400, "loads": [0.1, 0.1, 0.05], "tcpCount": 12, "udpCount": 3,
                       "netIO": {"up": 0, "down": 0}, "netTraffic": {"sent": 0, "recv": 0},
                       "publicIP": {"ipv4": "203.0.113.7", "ipv6": "N/A"},
                       "appStats": {"threads": 18, "mem": 60 << 20, "uptime": 86400}})
        return self._ok(status)

    def _h_list(self, req: _Req) -> _Resp:
        body = self._cached("list", lambda: {"success": True, "msg": "",
                                             "obj": [self._inbound_json(ib, stats=True) for ib in self._inbounds.values()]})
        return _Resp(body=body)

    def _h_get_inbound(self, req: _Req, id: str) -> _Resp:  # noqa: A002
        try:
            inbound = self._inbounds.get(int(id))
        except ValueError:
            return self._fail(self._msg("get"), f'strconv.Atoi: parsing "{id}": invalid syntax')
        if inbound is None:
            return self._fail(self._msg("obtain"), "record not found")
        return self._ok(self._inbound_json(inbound, stats=False))

    def _client_by_email(self, email: str) -> tuple[dict | None, dict | None]:
        """GetClientByEmail (2.8.1+): the traffic row and the client of the row's inbound."""
        row = self._traffic.get(email)
        if row is None or row["inboundId"] not in self._inbounds:
            raise _Fail(_sprintln("Inbound Not Found For Email:", email))
        for inbound_id, raw in self._by_email.get(email.lower(), []):
            if inbound_id == row["inboundId"] and raw.get("email") == email:
                return row, typed_client(raw)
        raise _Fail(_sprintln("Client Not Found In Inbound For Email:", email))

    def _traffic_by_email(self, email: str) -> dict | None:
        if self.v < (2, 8, 1) or self.v >= (3, 3, 0):
            row = self._traffic.get(email)
            if row is None:
                return None
            row = dict(row)
            record = self._records.get(email)
            if record:
                row["uuid"], row["subId"] = record["uuid"], record["subId"]
            elif self.v >= (3, 3, 0):
                client = self._client_by_email(email)[1]
                row["uuid"], row["subId"] = client["id"], client["subId"]
            return row
        row, client = self._client_by_email(email)
        row = dict(row)
        if (2, 8, 1) <= self.v < (2, 9, 0):
            row["enable"] = client["enable"]
        row["uuid"], row["subId"] = client["id"], client["subId"]
        return row

    def _h_get_client_traffics(self, req: _Req, email: str) -> _Resp:
        try:
            return self._ok(self._traffic_by_email(email))
        except _Fail as fail:
            return self._fail(self._msg("trafficGetError"), fail.err)

    def _h_get_client_traffics_by_id(self, req: _Req, id: str) -> _Resp:  # noqa: A002
        emails = set()
        for inbound in self._inbounds.values():
            for raw in inbound.clients:
                if raw.get("id") == id and isinstance(raw.get("email"), str):
                    emails.add(raw["email"])
        out = []
        for row in self._traffic.values():
            if row["email"] in emails:
                row = dict(row)
                try:
                    _, client = self._client_by_email(row["email"])
                    row.update(enable=client["enable"], uuid=client["id"], subId=client["subId"])
                except _Fail:
                    pass
                out.append(row)
        return self._ok(out)

    def _h_add_client(self, req: _Req) -> _Resp:
        try:
            inbound_id, settings = self._bind_inbound(req)
        except _BindError as exc:
            return self._fail(self._msg("inboundUpdateSuccess"), str(exc))
        try:
            self._add_inbound_client(inbound_id, settings)
        except _Fail as fail:
            return self._fail(self._msg("somethingWentWrong"), fail.err)
        return self._ok(msg=self._msg("inboundClientAddSuccess"))

    def _add_inbound_client(self, inbound_id: int, settings: str):
        clients, raw_clients = self._parse_settings(settings)
        now = _stamp()
        wire = []
        for raw in raw_clients:
            if isinstance(raw, dict):
                raw = dict(raw)
                raw.setdefault("created_at", now)
                raw["updated_at"] = now
            wire.append(raw)
        taken = self._emails_taken(clients)
        if taken:
            raise _Fail(_sprintln("Duplicate email:", taken))
        inbound = self._inbounds.get(inbound_id)
        if inbound is None:
            raise _Fail("record not found")
        for client in clients:
            if self.v >= (3, 0, 0) and not client["email"].strip():
                raise _Fail(_sprintln("client email is required"))
            if not client[inbound.client_key]:
                raise _Fail(_sprintln("empty client ID"))
        for raw in wire:
            if isinstance(raw, dict):
                self._append_client(inbound, raw)
            else:
                inbound.settings["clients"].append(raw)
        self._bump()

    def _h_update_client(self, req: _Req, clientId: str) -> _Resp:  # noqa: N803
        try:
            inbound_id, settings = self._bind_inbound(req)
        except _BindError as exc:
            return self._fail(self._msg("inboundUpdateSuccess"), str(exc))
        try:
            clients, raw_clients = self._parse_settings(settings)
            inbound = self._inbounds.get(inbound_id)
            if inbound is None:
                raise _Fail("record not found")
            if inbound.clients and not clients:
                raise _Panic()  # clients[0] on an empty list
            new_id = clients[0][inbound.client_key] if inbound.clients else ""
            old_raw = self._find(inbound, key=clientId)
            if not new_id or old_raw is None:
                raise _Fail(_sprintln("empty client ID"))
            old_email = typed_client(old_raw)["email"]
            new = clients[0]
            if new["email"] and new["email"] != old_email:
                taken = self._emails_taken(clients)
                if taken:
                    raise _Fail(_sprintln("Duplicate email:", taken))
            new_raw = dict(raw_clients[0]) if isinstance(raw_clients[0], dict) else {}
            new_raw["created_at"] = old_raw.get("created_at", _stamp()) if isinstance(old_raw, dict) else _stamp()
            new_raw["updated_at"] = _stamp()
            self._replace_client(inbound, old_raw, new_raw)
            if new["email"]:
                if old_email:
                    self._update_client_stat(old_email, new)
                else:
                    self._add_client_stat(inbound.id, new)
            else:
                self._traffic.pop(old_email, None)
            self._bump()
        except _Fail as fail:
            return self._fail(self._msg("somethingWentWrong"), fail.err)
        return self._ok(msg=self._msg("inboundClientUpdateSuccess"))

    def _inbound_from_param(self, id_param: str) -> _Inbound:
        try:
            inbound_id = int(id_param)
        except ValueError:
            raise _BindError(f'strconv.Atoi: parsing "{id_param}": invalid syntax')
        inbound = self._inbounds.get(inbound_id)
        if inbound is None:
            raise _Fail("record not found")
        return inbound

    def _h_del_client(self, req: _Req, id: str, clientId: str) -> _Resp:  # noqa: A002, N803
        try:
            inbound = self._inbound_from_param(id)
            key = inbound.client_key
            matched, kept = [], []
            for raw in inbound.clients:
                value = raw.get(key) if isinstance(raw, dict) else None
                if not isinstance(value, str):
                    raise _Panic()  # c[client_key].(string)
                (matched if value == clientId else kept).append(raw)
            if not kept:
                raise _Fail(_sprintln("no client remained in Inbound"))
            email = _typed(matched[-1].get("email"), str) if matched else ""
            if email and email not in self._traffic:
                raise _Fail("record not found")
            for raw in matched:
                self._remove_client(inbound, raw)
            if email:
                self._traffic.pop(email, None)
            self._bump()
        except _BindError as exc:
            return self._fail(self._msg("inboundUpdateSuccess"), str(exc))
        except _Fail as fail:
            return self._fail(self._msg("somethingWentWrong"), fail.err)
        return self._ok(msg=self._msg("inboundClientDeleteSuccess"))

    def _h_del_client_by_email(self, req: _Req, id: str, email: str) -> _Resp:  # noqa: A002
        try:
            inbound = self._inbound_from_param(id)
        except _BindError as exc:
            return self._fail("Invalid inbound ID", str(exc))
        except _Fail as fail:
            return self._fail("Failed to delete client by email", fail.err)
        matched = [raw for raw in inbound.clients if isinstance(raw, dict) and raw.get("email") == email]
        if not matched:
            return self._fail("Failed to delete client by email", _sprintln(f"client with email {email} not found"))
        if len(matched) == len(inbound.clients):
            return self._fail("Failed to delete client by email", _sprintln("no client remained in Inbound"))
        try:
            if self.v >= (2, 8, 1):
                self._client_by_email(email)
        except _Fail as fail:
            return self._fail("Failed to delete client by email", fail.err)
        for raw in matched:
            self._remove_client(inbound, raw)
        self._traffic.pop(email, None)
        self._bump()
        return self._ok(msg="Client deleted successfully")

    def _h_reset_client_traffic(self, req: _Req, id: str, email: str) -> _Resp:  # noqa: A002
        try:
            int(id)
        except ValueError:
            return self._fail(self._msg("inboundUpdateSuccess"), f'strconv.Atoi: parsing "{id}": invalid syntax')
        try:
            row = self._traffic_by_email(email)
        except _Fail as fail:
            return self._fail(self._msg("somethingWentWrong"), fail.err)
        if row is None:
            raise _Panic()  # traffic.Enable on a nil pointer (before 2.8.1)
        stored = self._traffic[email]
        stored.update(up=0, down=0, enable=True)
        self._bump()
        return self._ok(msg=self._msg("resetInboundClientTrafficSuccess"))

    def _h_update_client_traffic(self, req: _Req, email: str) -> _Resp:
        try:
            data = self._json_body(req)
            if not isinstance(data, dict):
                raise _BindError(f"json: cannot unmarshal {_go_kind(data)} into Go value of type TrafficUpdateRequest")
            for name in ("upload", "download"):
                if name in data and (not isinstance(data[name], int) or isinstance(data[name], bool)):
                    raise _BindError(f"json: cannot unmarshal {_go_kind(data[name])} into Go struct field .{name} of type int64")
        except _BindError as exc:
            key = "somethingWentWrong" if self.line == "3.1+" else "inboundUpdateSuccess"
            return self._fail(self._msg(key), str(exc))
        row = self._traffic.get(email)
        if row is not None:
            row.update(up=data.get("upload", 0), down=data.get("download", 0))
            self._bump()
        return self._ok(msg=self._msg("inboundClientUpdateSuccess"))

    def _h_onlines(self, req: _Req) -> _Resp:
        return self._ok(list(self._online))

    def _h_last_online(self, req: _Req) -> _Resp:
        return self._ok({row["email"]: row["lastOnline"] for row in self._traffic.values()})

    # -- 3.1+ handlers -----------------------------------------------------------------------------------
    def _upsert_record(self, raw: dict, inbound_id: int):
        c = typed_client(raw)
        record = self._records.get(c["email"])
        now = _now_ms()
        if record is None:
            record = {"id": self._next_record, "email": c["email"], "subId": c["subId"], "uuid": c["id"],
                      "password": c["password"], "auth": c["auth"], "flow": c["flow"], "security": c["security"],
                      "reverse": None, "privateKey": "", "publicKey": "", "allowedIPs": "", "preSharedKey": "",
                      "keepAlive": 0, "secret": "", "adTag": "", "limitIp": c["limitIp"], "totalGB": c["totalGB"],
                      "expiryTime": c["expiryTime"], "enable": c["enable"], "tgId": c["tgId"], "group": c["group"],
                      "comment": c["comment"], "reset": c["reset"], "createdAt": c["created_at"] or now,
                      "updatedAt": c["updated_at"] or now, "_inboundIds": []}
            self._next_record += 1
            self._records[c["email"]] = record
            self._record_subs[c["subId"]] = c["email"]
        else:  # SyncInbound: credentials minted for a later inbound (a trojan password) reach the record
            for name, rec_name in (("id", "uuid"), ("password", "password"), ("auth", "auth")):
                record[rec_name] = record[rec_name] or c[name]
        if inbound_id not in record["_inboundIds"]:
            record["_inboundIds"].append(inbound_id)
            record["_inboundIds"].sort()
        return record

    def _record_or_fail(self, email: str) -> dict:
        record = self._records.get(email)
        if record is None:
            raise _Fail("record not found")
        return record

    @staticmethod
    def _forbidden_char(text: str) -> bool:
        return any(ch in "/\\ " or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)

    def _client_wire(self, c: dict, inbound: _Inbound) -> dict:
        """json.Marshal(model.Client) as ClientService builds the per-inbound settings payload."""
        flow = c["flow"]
        if not (inbound.protocol == "vless" and inbound.stream.get("network", "tcp") == "tcp"
                and inbound.stream.get("security") in ("tls", "reality")):
            flow = ""  # clientWithInboundFlow
        wire = {}
        if c["id"]:
            wire["id"] = c["id"]
        wire["security"] = c["security"]
        if c["password"]:
            wire["password"] = c["password"]
        if flow:
            wire["flow"] = flow
        if c["auth"]:
            wire["auth"] = c["auth"]
        wire.update({"email": c["email"], "limitIp": c["limitIp"], "totalGB": c["totalGB"],
                     "expiryTime": c["expiryTime"], "enable": c["enable"], "tgId": c["tgId"], "subId": c["subId"]})
        if c["group"]:
            wire["group"] = c["group"]
        wire.update({"comment": c["comment"], "reset": c["reset"]})
        if c["created_at"]:
            wire["created_at"] = c["created_at"]
        wire["updated_at"] = _stamp()  # addInboundClient / UpdateInboundClient stamp it
        return wire

    def _fill_protocol_defaults(self, c: dict, inbound: _Inbound):
        if inbound.protocol in ("vless", "vmess") and not c["id"]:
            c["id"] = str(uuid.uuid4())
        elif inbound.protocol == "trojan" and not c["password"]:
            c["password"] = uuid.uuid4().hex
        elif inbound.protocol == "shadowsocks":
            method = str(inbound.settings.get("method") or "")
            size = {"2022-blake3-aes-128-gcm": 16, "2022-blake3-aes-256-gcm": 32,
                    "2022-blake3-chacha20-poly1305": 32}.get(method, 0)
            valid = bool(c["password"])
            if size and valid:
                try:
                    valid = len(base64.b64decode(c["password"], validate=True)) == size
                except ValueError:
                    valid = False
            if not valid:
                c["password"] = base64.b64encode(secrets.token_bytes(size)).decode() if size else uuid.uuid4().hex

    def _bind_client_json(self, value, where: str) -> dict:
        if not isinstance(value, dict):
            raise _BindError(f"json: cannot unmarshal {_go_kind(value)} into Go {where} of type model.Client")
        for name, kind in CLIENT_FIELDS.items():
            if name in value and value[name] is not None and _typed(value[name], kind) != value[name]:
                go_type = {str: "string", bool: "bool"}.get(kind) or ("int" if name in ("limitIp", "reset") else "int64")
                raise _BindError(f"json: cannot unmarshal {_go_kind(value[name])} into Go struct field "
                                 f"Client.{name} of type {go_type}")
        return typed_client(value)

    def _h_clients_add(self, req: _Req) -> _Resp:
        try:
            payload = self._json_body(req)
            if not isinstance(payload, dict):
                raise _BindError(f"json: cannot unmarshal {_go_kind(payload)} into Go value of type service.ClientCreatePayload")
            c = self._bind_client_json(payload.get("client") or {}, "struct field ClientCreatePayload.client")
            inbound_ids = payload.get("inboundIds") or []
            if not isinstance(inbound_ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in inbound_ids):
                raise _BindError("json: cannot unmarshal into Go struct field ClientCreatePayload.inboundIds of type []int")
        except _BindError as exc:
            return self._fail(self._msg("somethingWentWrong"), str(exc))
        try:
            self._create_client(c, inbound_ids)
        except _Fail as fail:
            return self._fail(self._msg("somethingWentWrong"), fail.err)
        return self._ok(msg=self._msg("inboundClientAddSuccess"))

    def _create_client(self, c: dict, inbound_ids: list[int]):
        email = c["email"]
        if not email.strip():
            raise _Fail(_sprintln("client email is required"))
        if self._forbidden_char(email):
            raise _Fail(_sprintln("client email contains an invalid character:", email))
        if self._forbidden_char(c["subId"]):
            raise _Fail(_sprintln("client subId contains an invalid character:", c["subId"]))
        if not inbound_ids:
            raise _Fail(_sprintln("at least one inbound is required"))
        c["subId"] = c["subId"] or str(uuid.uuid4())
        c["enable"] = True
        now = _now_ms()
        c["created_at"] = c["created_at"] or now
        c["updated_at"] = now
        existing = self._records.get(email)
        if existing is not None:
            if not existing["subId"] or existing["subId"] != c["subId"]:
                raise _Fail(_sprintln("email already in use:", email))
            for name, rec_name in (("id", "uuid"), ("password", "password"), ("auth", "auth")):
                c[name] = c[name] or existing[rec_name]
        if self._record_subs.get(c["subId"], email) != email:
            raise _Fail(_sprintln("subId already in use:", c["subId"]))
        for inbound_id in inbound_ids:
            inbound = self._inbounds.get(inbound_id)
            if inbound is None:
                raise _Fail("record not found")
            self._fill_protocol_defaults(c, inbound)
            entries = self._by_email.get(email.lower()) or []
            subs = {_typed(raw.get("subId"), str) for _, raw in entries}
            if entries and (len(subs) != 1 or subs.pop() != c["subId"]):
                raise _Fail(_sprintln("Duplicate email:", email))
            if any(ib == inbound_id for ib, _ in entries):
                continue  # already on this inbound: skipped (#5770)
            raw = self._client_wire(c, inbound)
            self._append_client(inbound, raw)
            self._upsert_record(dict(raw, flow=c["flow"]), inbound_id)
            self._bump()

    def _h_clients_update(self, req: _Req, email: str) -> _Resp:
        try:
            body = self._json_body(req)
            c = self._bind_client_json(body, "value")
        except _BindError as exc:
            return self._fail(self._msg("somethingWentWrong"), str(exc))
        try:
            record = self._record_or_fail(email)
            inbound_filter = [int(x) for x in str(req.query.get("inboundIds") or "").split(",") if x.strip().isdigit()]
            self._update_client(record, c, inbound_filter)
        except _Fail as fail:
            return self._fail(self._msg("somethingWentWrong"), fail.err)
        return self._ok(msg=self._msg("inboundClientUpdateSuccess"))

    def _update_client(self, record: dict, c: dict, inbound_filter: list[int]):
        inbound_ids = [i for i in record["_inboundIds"] if not inbound_filter or i in inbound_filter]
        if not c["email"].strip():
            raise _Fail(_sprintln("client email is required"))
        if self._forbidden_char(c["email"]):
            raise _Fail(_sprintln("client email contains an invalid character:", c["email"]))
        if self._forbidden_char(c["subId"]):
            raise _Fail(_sprintln("client subId contains an invalid character:", c["subId"]))
        c["subId"] = c["subId"] or record["subId"] or str(uuid.uuid4())
        c["updated_at"] = _now_ms()
        c["created_at"] = c["created_at"] or record["createdAt"]
        for name, rec_name in (("id", "uuid"), ("password", "password"), ("auth", "auth")):
            c[name] = c[name] or record[rec_name]
        old_email = record["email"]
        if c["email"] != old_email and c["email"] in self._records:
            raise _Fail(_sprintln("Duplicate email:", c["email"]))
        if c["subId"] != record["subId"] and c["subId"] in self._record_subs:
            raise _Fail(_sprintln("Duplicate subId:", c["subId"]))
        for inbound_id in inbound_ids:
            inbound = self._inbounds.get(inbound_id)
            if inbound is None:
                continue
            self._fill_protocol_defaults(c, inbound)
            old_raw = self._find(inbound, email=old_email)
            if old_raw is None:
                raise _Fail(_sprintln("empty client ID"))
            new_raw = self._client_wire(c, inbound)
            new_raw["created_at"] = old_raw.get("created_at", c["created_at"])
            self._replace_client(inbound, old_raw, new_raw)
        self._update_client_stat(old_email, c)
        self._records.pop(old_email)
        self._record_subs.pop(record["subId"], None)
        record.update({"email": c["email"], "subId": c["subId"], "uuid": c["id"], "password": c["password"],
                       "auth": c["auth"], "flow": c["flow"], "security": c["security"], "limitIp": c["limitIp"],
                       "totalGB": c["totalGB"], "expiryTime": c["expiryTime"], "enable": c["enable"], "tgId": c["tgId"],
                       "group": c["group"], "comment": c["comment"], "reset": c["reset"], "updatedAt": _now_ms()})
        self._records[c["email"]] = record
        self._record_subs[c["subId"]] = c["email"]
        self._bump()

    def _h_clients_del(self, req: _Req, email: str) -> _Resp:
        keep = req.query.get("keepTraffic") == "1"
        record = self._records.get(email)
        inbound_ids = list(record["_inboundIds"]) if record else [
            ib.id for ib in self._inbounds.values() if any(isinstance(r, dict) and r.get("email") == email for r in ib.clients)]
        if record is None and not inbound_ids:
            return self._fail(self._msg("somethingWentWrong"),
                              _sprintln(f'client "{email}" not found in any inbound or client record'))
        for inbound_id in inbound_ids:
            inbound = self._inbounds.get(inbound_id)
            if inbound is None:
                continue
            for raw in [r for r in inbound.clients if isinstance(r, dict) and r.get("email") == email]:
                self._remove_client(inbound, raw)
        if record is not None:
            self._records.pop(email, None)
            self._record_subs.pop(record["subId"], None)
        if not keep:
            self._traffic.pop(email, None)
        self._bump()
        return self._ok(msg=self._msg("inboundClientDeleteSuccess"))

    def _client_payload(self, record: dict) -> dict:
        row = self._traffic.get(record["email"])
        return {"client": self._record_json(record), "inboundIds": list(record["_inboundIds"]),
                "externalLinks": [], "usedTraffic": (row["up"] + row["down"]) if row else 0}

    def _h_clients_get(self, req: _Req, email: str) -> _Resp:
        record = self._records.get(email)
        if record is None:
            return self._fail(self._msg("obtain"), "record not found")
        return self._ok(self._client_payload(record))

    def _h_clients_by_tg(self, req: _Req, tgId: str) -> _Resp:  # noqa: N803
        try:
            tg_id = int(tgId)
        except ValueError:
            return self._fail(self._msg("obtain"), f'strconv.ParseInt: parsing "{tgId}": invalid syntax')
        if tg_id <= 0:
            return self._fail(self._msg("obtain"), "tg_id must be a positive integer")
        return self._ok([self._client_payload(r) for r in self._records.values() if r["tgId"] == tg_id])

    def _h_clients_list(self, req: _Req) -> _Resp:
        def build():
            out = []
            for record in sorted(self._records.values(), key=lambda r: r["id"]):
                item = self._record_json(record)
                item["inboundIds"] = list(record["_inboundIds"])
                row = self._traffic.get(record["email"])
                if row:
                    item["traffic"] = row
                out.append(item)
            return {"success": True, "msg": "", "obj": out}

        return _Resp(body=self._cached("clients", build))

    def _h_clients_paged(self, req: _Req) -> _Resp:
        def number(name, default):
            value = req.query.get(name, "")
            if value == "":
                return default
            try:
                return int(value)
            except ValueError:
                raise _BindError(f'strconv.ParseInt: parsing "{value}": invalid syntax')

        try:
            page, size = number("page", 0), number("pageSize", 0)
        except _BindError as exc:
            return self._fail(self._msg("obtain"), str(exc))
        size = PAGE_DEFAULT if size <= 0 else min(size, PAGE_MAX)
        page = max(page, 1)
        records = sorted(self._records.values(), key=lambda r: r["id"])
        total = len(records)
        needle = (req.query.get("search") or "").strip().lower()
        if needle:
            records = [r for r in records if any(needle in str(r[k]).lower() for k in ("email", "subId", "comment", "uuid",
                                                                                        "password", "auth"))
                       or (r["tgId"] and needle in str(r["tgId"]))]
        sort, descending = req.query.get("sort", ""), req.query.get("order") == "descend"
        if sort == "email":
            records.sort(key=lambda r: r["email"].lower(), reverse=descending)
        elif sort in ("createdAt", "updatedAt", "expiryTime"):
            records.sort(key=lambda r: r[sort], reverse=descending)
        now = _now_ms()

        def used(r):
            row = self._traffic.get(r["email"])
            return (row["up"] + row["down"]) if row else 0

        def depleted(r):
            return (r["totalGB"] > 0 and used(r) >= r["totalGB"]) or (0 < r["expiryTime"] <= now)

        all_records = list(self._records.values())
        summary = {"total": total, "active": sum(1 for r in all_records if r["enable"] and not depleted(r)),
                   "onlineCount": sum(1 for r in all_records if r["email"] in self._online),
                   "depletedCount": sum(1 for r in all_records if depleted(r)), "expiringCount": 0,
                   "deactiveCount": sum(1 for r in all_records if not r["enable"] and not depleted(r)),
                   "online": [e for e in self._online][:200], "depleted": [r["email"] for r in all_records if depleted(r)][:200],
                   "expiring": [], "deactive": [r["email"] for r in all_records if not r["enable"] and not depleted(r)][:200]}
        items = []
        for r in records[(page - 1) * size:page * size]:
            item = {"email": r["email"], "subId": r["subId"], "enable": r["enable"], "totalGB": r["totalGB"],
                    "expiryTime": r["expiryTime"], "limitIp": r["limitIp"], "reset": r["reset"]}
            if r["group"]:
                item["group"] = r["group"]
            if r["comment"]:
                item["comment"] = r["comment"]
            item["inboundIds"] = list(r["_inboundIds"])
            row = self._traffic.get(r["email"])
            if row:
                item["traffic"] = dict(row)
            item.update({"createdAt": r["createdAt"], "updatedAt": r["updatedAt"]})
            items.append(item)
        obj = {"items": items, "total": total, "filtered": len(records), "page": page, "pageSize": size, "summary": summary}
        if self.v >= (3, 2, 0):
            obj["groups"] = sorted({r["group"] for r in all_records if r["group"]})
        return self._ok(obj)

    def _h_clients_traffic(self, req: _Req, email: str) -> _Resp:
        try:
            return self._ok(self._traffic_by_email(email))
        except _Fail as fail:
            return self._fail(self._msg("trafficGetError"), fail.err)

    def _host(self, req: _Req) -> str:
        return (req.headers.get("Host") or "127.0.0.1").rsplit(":", 1)[0]

    def _h_clients_links(self, req: _Req, email: str) -> _Resp:
        if not email:
            return self._fail(self._msg("obtain"), _sprintln("client email is required"))
        record = self._records.get(email)
        if record is None:
            return self._fail(self._msg("obtain"), "record not found")
        links = []
        for inbound_id in record["_inboundIds"]:
            inbound = self._inbounds[inbound_id]
            for raw in inbound.clients:
                if isinstance(raw, dict) and raw.get("email") == email:
                    links.append(share_link(inbound, raw, self._host(req)))
        return self._ok(links)

    def _h_clients_sub_links(self, req: _Req, subId: str) -> _Resp:  # noqa: N803
        links, _ = self._sub_links(subId, self._host(req))
        return self._ok(links)

    def _h_clients_attach(self, req: _Req, email: str) -> _Resp:
        return self._attach_detach(req, email, attach=True)

    def _h_clients_detach(self, req: _Req, email: str) -> _Resp:
        return self._attach_detach(req, email, attach=False)

    def _attach_detach(self, req: _Req, email: str, *, attach: bool) -> _Resp:
        try:
            body = self._json_body(req)
            ids = body.get("inboundIds") if isinstance(body, dict) else None
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise _BindError("json: cannot unmarshal into Go struct field attachDetachBody.inboundIds of type []int")
        except _BindError as exc:
            return self._fail(self._msg("somethingWentWrong"), str(exc))
        try:
            record = self._record_or_fail(email)
            for inbound_id in ids:
                inbound = self._inbounds.get(inbound_id)
                if inbound is None:
                    raise _Fail("record not found")
                if attach and inbound_id not in record["_inboundIds"]:
                    c = typed_client({"id": record["uuid"], "password": record["password"], "auth": record["auth"],
                                      "flow": record["flow"], "security": record["security"], "email": email,
                                      "limitIp": record["limitIp"], "totalGB": record["totalGB"],
                                      "expiryTime": record["expiryTime"], "enable": record["enable"], "tgId": record["tgId"],
                                      "subId": record["subId"], "group": record["group"], "comment": record["comment"],
                                      "reset": record["reset"], "created_at": record["createdAt"], "updated_at": _now_ms()})
                    self._fill_protocol_defaults(c, inbound)
                    self._append_client(inbound, self._client_wire(c, inbound))
                    record["_inboundIds"] = sorted(record["_inboundIds"] + [inbound_id])
                elif not attach and inbound_id in record["_inboundIds"]:
                    for raw in [r for r in inbound.clients if isinstance(r, dict) and r.get("email") == email]:
                        self._remove_client(inbound, raw)
                    record["_inboundIds"].remove(inbound_id)
            self._bump()
        except _Fail as fail:
            return self._fail(self._msg("somethingWentWrong"), fail.err)
        key = "inboundClientAddSuccess" if attach else "inboundClientDeleteSuccess"
        return self._ok(msg=self._msg(key))

    def _h_clients_reset_traffic(self, req: _Req, email: str) -> _Resp:
        record = self._records.get(email)
        if record is None:
            return self._fail(self._msg("somethingWentWrong"), "record not found")
        record["enable"] = True
        for inbound_id in record["_inboundIds"]:
            for raw in self._inbounds[inbound_id].clients:
                if isinstance(raw, dict) and raw.get("email") == email:
                    raw["enable"] = True
        row = self._traffic.get(email)
        if row:
            row.update(up=0, down=0, enable=True)
        self._bump()
        return self._ok(msg=self._msg("resetInboundClientTrafficSuccess"))

    # -- the subscription server ------------------------------------------------------------------------
    def _sub_links(self, sub_id: str, host: str) -> tuple[list[str], dict]:
        links, traffics = [], []
        for inbound_id, raw in sorted(self._by_sub.get(sub_id, []), key=lambda entry: entry[0]):
            c = typed_client(raw)
            if c["enable"]:
                links.append(share_link(self._inbounds[inbound_id], raw, host))
                row = self._traffic.get(c["email"])
                traffics.append(row or {"up": 0, "down": 0, "total": 0, "expiryTime": 0})
        total = {"up": 0, "down": 0, "total": 0, "expiryTime": 0}
        for i, row in enumerate(traffics):
            if i == 0:
                total.update(up=row["up"], down=row["down"], total=row["total"])
                if row["expiryTime"] > 0:
                    total["expiryTime"] = row["expiryTime"]
            else:
                total["up"] += row["up"]
                total["down"] += row["down"]
                total["total"] = 0 if total["total"] == 0 or row["total"] == 0 else total["total"] + row["total"]
                if row["expiryTime"] != total["expiryTime"]:
                    total["expiryTime"] = 0
        return links, total

    def _serve_sub(self, req: _Req) -> _Resp:
        if req.method != "GET" or not req.path.startswith(self.sub_path) or "/" in req.path[len(self.sub_path):]:
            return _Resp(404, body=b"404 page not found", content_type="text/plain")
        sub_id = req.path[len(self.sub_path):]
        host = self._host(req)
        links, t = self._sub_links(sub_id, host)
        if not links:
            if self.v >= (3, 1, 0):
                return _Resp(404, body=b"", content_type="text/plain")
            return _Resp(400, body=b"Error!", content_type="text/plain; charset=utf-8")
        text = "".join(link + "\n" for link in links)
        port = self._servers["sub"].server_address[1]
        query = "&".join(f"{k}={v}" for k, v in req.query.items())
        headers = [("Subscription-Userinfo",
                    f"upload={t['up']}; download={t['down']}; total={t['total']}; expire={int(t['expiryTime'] / 1000)}"),
                   ("Profile-Update-Interval", "12"),
                   ("Profile-Web-Page-Url", f"http://{host}:{port}{req.path}{'?' + query if query else ''}"),
                   ("Routing-Enable", "false")]
        wants_html = "text/html" in (req.headers.get("Accept") or "").lower() or req.query.get("html") == "1"
        if wants_html:
            page = (f"<!DOCTYPE html><html><body><h1>{sub_id}</h1><p>upload {t['up']} download {t['down']} "
                    f"total {t['total']} expire {t['expiryTime']}</p><pre>{text}</pre></body></html>")
            return _Resp(200, body=page.encode(), content_type="text/html; charset=utf-8")
        return _Resp(200, body=base64.b64encode(text.encode()), content_type="text/plain; charset=utf-8", headers=headers)

    # -- plumbing ---------------------------------------------------------------------------------------
    def _take_fault(self, path: str):
        for i, (substring, kind, msg) in enumerate(self._faults):
            if substring in path:
                del self._faults[i]
                return kind, msg
        return None, None

    def _handler_class(self, server_name: str):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body in two writes: no 40 ms delayed-ACK stall

            def setup(self):
                super().setup()
                with self.server.connections_lock:
                    self.server.open_connections.add(self.connection)

            def finish(self):
                with self.server.connections_lock:
                    self.server.open_connections.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass

            def log_message(self, *args):
                return

            def send_response(self, code, message=None):
                """Go's net/http sends a Date header and no Server header."""
                self.send_response_only(code, message)
                self.send_header("Date", self.date_time_string())

            def _abort(self):
                """Close the connection without an answer (RST, as a crashed or unreachable panel)."""
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _handle(self):
                if fake._down:
                    self._abort()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                req = _Req(self.command, path, query, self.headers, raw)
                recorded = path[len(fake.base_path) - 1:] if server_name == "panel" and path.startswith(fake.base_path) else path
                with fake.lock:
                    fake.calls.append(Call(self.command, recorded, _parsed_body(req), time.monotonic(), query, server_name))
                    kind, msg = fake._take_fault(recorded)
                if fake.latency:
                    time.sleep(fake.latency)
                if kind == "drop":
                    self._abort()
                    return
                if kind == "http500":
                    self._reply(_Resp(500, body=b"", content_type="text/plain"))
                    return
                if kind == "success_false":
                    self._reply(_Resp(payload={"success": False, "msg": msg or "Something went wrong (injected fault)",
                                               "obj": None}))
                    return
                with fake.lock:
                    resp = fake._serve_panel(req) if server_name == "panel" else fake._serve_sub(req)
                    if resp.body is None:
                        resp.body = _go_json(resp.payload)
                if req.set_cookie:
                    resp.headers.append(("Set-Cookie", req.set_cookie))
                if kind == "timeout_after_act":
                    fake._stopping.wait(fake.hold_seconds)
                    self._abort()
                    return
                if kind == "empty":
                    resp = _Resp(200, body=b"", content_type="")
                self._reply(resp)

            def _reply(self, resp: _Resp):
                body = resp.body if resp.body is not None else _go_json(resp.payload)
                accepts_gzip = "gzip" in (self.headers.get("Accept-Encoding") or "")
                encoded = False
                if body and accepts_gzip and server_name == "panel" and resp.content_type.startswith("application/json"):
                    body, encoded = _gzip_cached(body), True
                self.send_response(resp.status)
                if resp.content_type:
                    self.send_header("Content-Type", resp.content_type)
                if encoded:
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Vary", "Accept-Encoding")
                for name, value in resp.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815

        return Handler


_gzip_cache: dict[int, tuple[bytes, bytes]] = {}
_gzip_lock = threading.Lock()


def _gzip_cached(body: bytes) -> bytes:
    """gin-contrib/gzip at the default level; big list bodies are cached by identity."""
    if len(body) < 65536:
        return gzip.compress(body, compresslevel=6)
    key = id(body)
    with _gzip_lock:
        hit = _gzip_cache.get(key)
        if hit and hit[0] is body:
            return hit[1]
    compressed = gzip.compress(body, compresslevel=6)
    with _gzip_lock:
        _gzip_cache.clear()
        _gzip_cache[key] = (body, compressed)
    return compressed


def _parsed_body(req: _Req):
    if not req.raw:
        return None
    if req.content_type == "application/json":
        try:
            return json.loads(req.raw)
        except ValueError:
            return req.raw.decode("utf-8", "replace")
    if req.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(req.raw.decode("utf-8", "replace"), keep_blank_values=True))
    return req.raw.decode("utf-8", "replace")


def share_link(inbound: _Inbound, raw: dict, host: str) -> str:
    """A share link as the panel's sub service builds it (tcp/ws/grpc; none/tls/reality)."""
    c = typed_client(raw)
    stream = inbound.stream
    network = stream.get("network", "tcp")
    security = stream.get("security", "none")
    address = host if inbound.listen in ("", "0.0.0.0", "::", "::0") else inbound.listen
    remark = quote(f"{inbound.remark}-{c['email']}")
    params = {"type": network}
    if network == "ws":
        ws = stream.get("wsSettings") or {}
        params["path"] = ws.get("path", "/")
        params["host"] = ws.get("host", "")
    elif network == "grpc":
        params["serviceName"] = (stream.get("grpcSettings") or {}).get("serviceName", "")
    if inbound.protocol == "vmess":
        obj = {"v": "2", "ps": f"{inbound.remark}-{c['email']}", "add": address, "port": inbound.port, "id": c["id"],
               "scy": c["security"] or "auto", "net": network, "type": "none", "tls": security if security != "none" else "none"}
        return "vmess://" + base64.b64encode(json.dumps(obj, indent=2).encode()).decode()
    if security == "tls":
        tls = stream.get("tlsSettings") or {}
        params.update(security="tls", sni=tls.get("serverName", ""), fp=(tls.get("settings") or {}).get("fingerprint", ""))
    elif security == "reality":
        reality = stream.get("realitySettings") or {}
        settings = reality.get("settings") or {}
        params.update(security="reality", pbk=settings.get("publicKey", ""), fp=settings.get("fingerprint", "chrome"),
                      sni=(reality.get("serverNames") or [""])[0], sid=(reality.get("shortIds") or [""])[0])
    else:
        params["security"] = "none"
    if inbound.protocol == "vless":
        params["encryption"] = str(inbound.settings.get("encryption") or "none")
        if c["flow"] and network == "tcp" and security in ("tls", "reality"):
            params["flow"] = c["flow"]
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items() if v != "")
    if inbound.protocol == "vless":
        return f"vless://{c['id']}@{address}:{inbound.port}?{query}#{remark}"
    if inbound.protocol == "trojan":
        return f"trojan://{c['password']}@{address}:{inbound.port}?{query}#{remark}"
    method = str(inbound.settings.get("method") or "")
    secret = f"{method}:{inbound.settings.get('password')}:{c['password']}" if method.startswith("2022") \
        else f"{method}:{c['password']}"
    userinfo = base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=")
    return f"ss://{userinfo}@{address}:{inbound.port}?type={network}#{remark}"
