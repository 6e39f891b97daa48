"""Talking to the panel: the stored API token or a login (again once on a 401), what each status
of an answer means, and the probe that tells Marzban from PasarGuard and finds the version."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx

from ..base import AccountExists, AccountMissing, PanelAuthError, PanelRefused, PanelUnavailable
from .parsing import error_detail, version_tuple

if TYPE_CHECKING:  # the package imports this module: the adapter's type is for annotations only
    from . import MarzbanAdapter

log = logging.getLogger(__package__)  # the adapter's logger ("panels.adapters.marzban")

MARZBAN, PASARGUARD = "marzban", "pasarguard"


# --- auth -------------------------------------------------------------------------------------
def login(adapter: MarzbanAdapter) -> None:
    username = adapter.panel.username
    password = adapter.secret("password_encrypted")
    if not (username and password):
        raise PanelAuthError(f"{adapter.kind}: no username and password to log in with")
    response = adapter.request("POST", "/api/admin/token",
                               data={"grant_type": "password", "username": username, "password": password})
    del password
    if response.status_code in (401, 403):
        raise PanelAuthError(f"{adapter.kind} login refused ({response.status_code}): wrong username or password")
    if response.status_code == 422:
        raise PanelAuthError(f"{adapter.kind} login refused (422): {error_detail(response)}")
    raise_for(adapter, response, "POST /api/admin/token")
    data = read_json(adapter, response, "POST /api/admin/token")
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise PanelRefused(f"{adapter.kind} login: the answer holds no access token (is this a {adapter.kind} panel?)")
    adapter._auth = {"Authorization": f"Bearer {token}"}
    adapter._logged_in = True
    log.info("%s panel %s: logged in", adapter.kind, adapter._label)


def stored_token(adapter: MarzbanAdapter) -> dict[str, str] | None:
    token = adapter.secret("token_encrypted").strip()
    if not token:
        return None
    # PasarGuard API keys (pg_key_…) go in X-Api-Key; a JWT someone pasted is a bearer token
    if adapter.pg and not (token.startswith("eyJ") and token.count(".") == 2):
        return {"X-Api-Key": token}
    return {"Authorization": f"Bearer {token}"}


def send(adapter: MarzbanAdapter, method: str, path: str, **kwargs) -> httpx.Response:
    """One authenticated call. A 401 means the token expired: log in again once and repeat;
    a second 401 is PanelAuthError."""
    if adapter._auth is None:
        adapter._auth = stored_token(adapter)
        if adapter._auth is None:
            login(adapter)
    response = adapter.request(method, path, headers=adapter._auth, **kwargs)
    if response.status_code != 401:
        return response
    had_login = adapter._logged_in
    if not adapter.panel.username or not adapter.panel.password_encrypted:
        raise PanelAuthError(f"{adapter.kind} {method} {path}: the stored API token was refused (401)"
                             " and there is no password to log in with")
    log.info("%s panel %s: %s refused (401), logging in again", adapter.kind, adapter._label,
             "the token" if had_login else "the stored API token")
    login(adapter)
    response = adapter.request(method, path, headers=adapter._auth, **kwargs)
    if response.status_code == 401:
        raise PanelAuthError(f"{adapter.kind} {method} {path}: refused (401) right after logging in: "
                             f"{error_detail(response)}")
    return response


# --- answers ----------------------------------------------------------------------------------
def raise_for(adapter: MarzbanAdapter, response: httpx.Response, what: str, *, missing: str | None = None) -> None:
    """Nothing for a 2xx; otherwise the error the status means. `missing`: a 404 is
    AccountMissing with that name (else PanelRefused)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    where = f"{adapter.kind} {what}"
    if status >= 500:
        raise PanelUnavailable(f"{where}: {status} {error_detail(response)} (the outcome of a write is unknown)")
    if 300 <= status < 400:
        raise PanelRefused(f"{where}: redirected ({status}); check the panel's address (http/https, path)")
    if status == 401:
        raise PanelAuthError(f"{where}: 401 {error_detail(response)}")
    if status == 403:
        raise PanelAuthError(f"{where}: 403 {error_detail(response)} (the panel's admin lacks the rights)")
    if status == 404 and missing is not None:
        raise AccountMissing(f"{where}: no account {missing!r} on the panel")
    if status == 409:
        raise AccountExists(f"{where}: 409 {error_detail(response)}")
    if 400 <= status < 500:
        raise PanelRefused(f"{where}: {status} {error_detail(response)}")
    raise PanelUnavailable(f"{where}: unexpected status {status}")


def read_json(adapter: MarzbanAdapter, response: httpx.Response, what: str):
    try:
        return response.json()
    except ValueError:
        raise PanelUnavailable(f"{adapter.kind} {what}: answered {response.status_code} with something that is "
                               "not JSON (a proxy page?); the outcome of a write is unknown") from None


def user_json(adapter: MarzbanAdapter, response: httpx.Response, what: str) -> dict:
    data = read_json(adapter, response, what)
    if not isinstance(data, dict) or "username" not in data:
        raise PanelUnavailable(f"{adapter.kind} {what}: the answer is not a user; the outcome of a write is unknown")
    return data


def call(adapter: MarzbanAdapter, method: str, path: str, what: str | None = None, *, missing: str | None = None,
         **kwargs) -> httpx.Response:
    what = what or f"{method} {path}"
    response = send(adapter, method, path, **kwargs)
    raise_for(adapter, response, what, missing=missing)
    return response


# --- probe ------------------------------------------------------------------------------------
def probe(adapter: MarzbanAdapter) -> tuple[int, ...]:
    """GET /api/system once: which panel this is (refused when it is not panel.kind) and its
    version."""
    if adapter._version is not None:
        return adapter._version
    data = read_json(adapter, call(adapter, "GET", "/api/system"), "GET /api/system")
    if not isinstance(data, dict) or "version" not in data:
        raise PanelRefused(f"{adapter.kind}: /api/system does not look like Marzban or PasarGuard")
    version = str(data.get("version") or "")
    numbers = version_tuple(version)
    # Marzban's stats say users_active, PasarGuard's (every version) active_users
    if "active_users" in data:
        flavour = PASARGUARD
    elif "users_active" in data:
        flavour = MARZBAN
    else:
        flavour = MARZBAN if numbers[0] == 0 else PASARGUARD
    if flavour != adapter.kind:
        raise PanelRefused(f"the panel at this address is {flavour} {version}, not {adapter.kind}: "
                           f"change the panel's kind to {flavour}")
    adapter.version = version
    adapter._version = numbers
    return numbers


def pg_since(adapter: MarzbanAdapter, version: tuple[int, ...]) -> bool:
    return adapter.pg and probe(adapter) >= version
