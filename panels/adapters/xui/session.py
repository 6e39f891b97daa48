"""The conversation with a 3x-ui panel: the line probe, the cookie login (with its CSRF token) or
the API token, one call's envelope and what its errors mean, and the login again when a session is gone."""

# The line is probed once per adapter: ``GET {base}/csrf-token`` answers 200 from 3.0.0 on (cookie
# POSTs, the login included, need its token), 404 before; after authenticating,
# ``GET /panel/api/server/status`` has ``obj.panelVersion`` from 3.1.0 on (the clients API).
#
# Auth: an API token (3.0+) is sent as ``Authorization: Bearer``; otherwise a cookie login
# (``POST {base}/login``, form). A refused API call (404, or 401/307 before 2.8.4, 401 on 3.1+ with
# ``X-Requested-With``) logs in again once and repeats the call; a failed login is never retried
# by this adapter (3.0+ locks a user out after 5 failures).
#
# Errors come back as HTTP 200 ``success:false`` with a message ending in a newline; an empty 200
# body (the v2.6 addClient quirk), a 5xx, a timeout or a dropped connection is PanelUnavailable:
# the write may or may not have happened.

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

from ..base import AccountExists, PanelAuthError, PanelRefused, PanelUnavailable

if TYPE_CHECKING:  # the package imports this module: the adapter's type is for annotations only
    from . import XuiAdapter

log = logging.getLogger(__package__)  # the adapter's logger ("panels.adapters.xui")

API = "/panel/api"
INBOUNDS = f"{API}/inbounds"
CLIENTS = f"{API}/clients"
# what "not logged in" looks like on /panel/api/*: 404 (checkAPIAuth, 2.8.4+), 401 (checkLogin with
# X-Requested-With before 2.8.4, bare on 3.1+), a redirect to the login page (checkLogin without it)
API_AUTH_STATUSES = frozenset({401, 404, 302, 303, 307})
PAGE_AUTH_STATUSES = frozenset({401, 302, 303, 307})  # /panel/setting/* (checkLogin): 404 = no such route


def one_line(msg) -> str:
    """A panel message on one line (common.NewError ends it with a newline inside the parentheses)."""
    return " ".join(str(msg or "").split())


def panel_msg(exc: Exception) -> str:
    """The panel's own message of a refusal (not the request path, which holds the account name)."""
    return getattr(exc, "panel_msg", "")


def is_not_found(exc: Exception) -> bool:
    low = panel_msg(exc).lower()
    return "not found" in low or "empty client id" in low


def q(value: str) -> str:
    """A name as one segment of a route."""
    return quote(str(value), safe="@")


# --- probing and auth ------------------------------------------------------------------------------
def ready(adapter: XuiAdapter) -> None:
    """Probe the line and authenticate, once per adapter."""
    if adapter._clients_api is not None:
        return
    if adapter._csrf_line is None:
        response = adapter.request("GET", "/csrf-token")
        if response.status_code == 200:
            token = json_or_none(response)
            if not (isinstance(token, dict) and token.get("success") and isinstance(token.get("obj"), str)):
                raise PanelRefused("3x-ui: /csrf-token did not answer a token: is this a 3x-ui panel?")
            adapter._csrf_line, adapter._csrf = True, token["obj"]
        elif response.status_code == 404:
            adapter._csrf_line = False
        elif response.status_code >= 500:
            raise PanelUnavailable(f"3x-ui GET /csrf-token: HTTP {response.status_code}")
        else:
            raise PanelRefused(f"3x-ui GET /csrf-token: unexpected HTTP {response.status_code}: "
                               f"check the address and its web base path")
    adapter._use_token = bool(adapter._csrf_line and adapter.panel.token_encrypted)
    if not adapter._use_token:
        login(adapter, fresh_csrf=False)
    data = call(adapter, "GET", f"{API}/server/status", missing_ok=True)  # added in 2.7.0
    obj = (data or {}).get("obj") or {}
    panel_version = obj.get("panelVersion") if isinstance(obj, dict) else None
    if panel_version:
        adapter._clients_api, adapter._version = True, str(panel_version)
    else:
        adapter._clients_api, adapter._version = False, "3.0.x" if adapter._csrf_line else "2.x"
    log.info("3x-ui at %s: version %s (%s API)", adapter.panel.base_url, adapter._version,
             "clients" if adapter._clients_api else "inbound clients")


def version_tuple(adapter: XuiAdapter) -> tuple[int, ...]:
    """The probed version as numbers ("3.3.0" -> (3, 3, 0))."""
    parts = []
    for piece in adapter._version.lstrip("v").split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def login(adapter: XuiAdapter, *, fresh_csrf: bool = True) -> None:
    if adapter._auth_failed:
        raise PanelAuthError(adapter._auth_failed)
    username = adapter.panel.username or ""
    password = adapter.secret("password_encrypted")
    if not username or not password:
        adapter._auth_failed = ("3x-ui: no username and password set" +
                                ("" if adapter._csrf_line else " (API tokens need 3x-ui 3.0 or later)"))
        raise PanelAuthError(adapter._auth_failed)
    adapter._logged_in = False
    headers = {}
    if fresh_csrf or not adapter._csrf:
        adapter.client.cookies.clear()  # the old session (and the CSRF token bound to it) is gone
    if adapter._csrf_line:
        if fresh_csrf or not adapter._csrf:
            response = adapter.request("GET", "/csrf-token")
            token = json_or_none(response) if response.status_code == 200 else None
            if not (isinstance(token, dict) and isinstance(token.get("obj"), str)):
                if response.status_code >= 500:
                    raise PanelUnavailable(f"3x-ui GET /csrf-token: HTTP {response.status_code}")
                raise PanelRefused(f"3x-ui GET /csrf-token: HTTP {response.status_code}, no token")
            adapter._csrf = token["obj"]
        headers["X-CSRF-Token"] = adapter._csrf
    response = adapter.request("POST", "/login", data={"username": username, "password": password}, headers=headers)
    if response.status_code >= 500:
        raise PanelUnavailable(f"3x-ui POST /login: HTTP {response.status_code}")
    if response.status_code == 404:
        raise PanelRefused(f"3x-ui: no login page at {adapter.panel.base_url}: check the address and its web base path")
    if response.status_code != 200:
        raise PanelRefused(f"3x-ui POST /login: unexpected HTTP {response.status_code}")
    if not response.content.strip():
        raise PanelUnavailable("3x-ui POST /login: empty answer")
    data = json_or_none(response)
    if not isinstance(data, dict):
        raise PanelRefused("3x-ui POST /login: the answer is not JSON: check the address")
    if not data.get("success"):
        # never tried again from here: 3.0+ locks the user out after 5 failures in 5 minutes
        adapter._auth_failed = f"3x-ui refused the login of user {username!r}: {one_line(data.get('msg'))}"
        raise PanelAuthError(adapter._auth_failed)
    adapter._logged_in = adapter._fresh = True
    log.info("logged in to 3x-ui at %s", adapter.panel.base_url)


# --- HTTP --------------------------------------------------------------------------------------------
def json_or_none(response: httpx.Response):
    try:
        return response.json()
    except ValueError:
        return None


def send(adapter: XuiAdapter, method: str, path: str, **kwargs) -> httpx.Response:
    headers = dict(kwargs.pop("headers", None) or {})
    if adapter._use_token:
        headers["Authorization"] = "Bearer " + adapter.secret("token_encrypted")
    elif adapter._csrf_line and method not in ("GET", "HEAD"):
        headers["X-CSRF-Token"] = adapter._csrf
    return adapter.request(method, path, headers=headers, **kwargs)


def call(adapter: XuiAdapter, method: str, path: str, *, json_body=None, params: dict | None = None,
         missing_ok: bool = False, auth_statuses=API_AUTH_STATUSES, soft_auth: bool = False) -> dict | None:
    """One authenticated call and its envelope; logs in again once when the panel says the
    session is gone. missing_ok: a 404 that survives a fresh login means "no such route" → None.
    soft_auth: an auth refusal we cannot fix (a Bearer token on a cookie-only page) → None."""
    statuses = set(auth_statuses)
    if adapter._csrf_line and not adapter._use_token:
        statuses.add(403)  # CSRFMiddleware: the session (and its token) is gone
    for attempt in (1, 2):
        kwargs = {"json": json_body} if json_body is not None else {}
        if params:
            kwargs["params"] = params
        response = send(adapter, method, path, **kwargs)
        fresh, adapter._fresh = adapter._fresh, False
        if response.status_code not in statuses:
            return envelope(response, method, path)
        if missing_ok and response.status_code == 404 and fresh:
            return None
        if adapter._use_token:
            if soft_auth or (missing_ok and response.status_code == 404):
                return None
            raise PanelAuthError(f"3x-ui refused the API token (HTTP {response.status_code} on {path}): "
                                 f"it was revoked or belongs to another panel")
        if attempt == 1:
            login(adapter)
            continue
        if missing_ok and response.status_code == 404:
            return None
        if soft_auth:
            return None
        raise PanelAuthError(f"3x-ui still refuses {method} {path} (HTTP {response.status_code}) right after "
                             f"logging in again")
    return None  # pragma: no cover


def envelope(response: httpx.Response, method: str, path: str) -> dict:
    where = f"3x-ui {method} {path}"
    if response.status_code >= 500:
        raise PanelUnavailable(f"{where}: HTTP {response.status_code}")
    if response.status_code != 200:
        raise PanelRefused(f"{where}: HTTP {response.status_code}")
    if not response.content.strip():
        # the v2.6 quirk: the write may have happened; the caller looks the account up
        raise PanelUnavailable(f"{where}: empty answer (the change may or may not have been applied)")
    data = json_or_none(response)
    if not isinstance(data, dict) or "success" not in data:
        raise PanelRefused(f"{where}: the answer is not a 3x-ui message")
    if not data["success"]:
        msg = one_line(data.get("msg")) or "refused"
        low = msg.lower()
        cls = AccountExists if "duplicate email" in low or "email already in use" in low else PanelRefused
        exc = cls(f"{where}: {msg}")
        exc.panel_msg = msg
        raise exc
    return data


def post(adapter: XuiAdapter, path: str, body=None) -> dict:
    return call(adapter, "POST", path, json_body=body)
