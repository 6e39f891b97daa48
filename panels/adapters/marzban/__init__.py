"""Marzban (v0.8.x) and PasarGuard (its successor, v1-v5) panels.

One class for both kinds; the differences are small and decided by the flavour and the version
the panel reports at the probe (`GET /api/system`, once per adapter):

* Marzban: a new account gets ``proxies`` (one entry per protocol of the configured inbound
  tags) and ``inbounds`` ({protocol: [tags]}); both are always sent (an omitted ``proxies``
  breaks the user on the real panel, an omitted ``inbounds`` gives it none). Enable/disable is
  ``status``. Users are addressed by name (case-insensitive on the panel).
* PasarGuard: ``proxy_settings`` ({} = generate everything) and ``group_ids`` (the configured
  group ids, never empty). Users are addressed ``/by-id/{id}`` since v3.1.0 (the id is
  ``Account.remote_id``), by name before. Enable/disable is ``PUT …/disabled`` since v5.0.0,
  ``status`` before. ``hwid_limit`` (devices) since v4.0.0.

Units: ``expire`` is unix seconds (0 = never), ``data_limit`` bytes (0 = unlimited). Updates
send only the fields that change, never a null (null means something else per field on the
real panels) and never the credentials (``proxies``/``proxy_settings``). Every write is read
back and verified. See tests/fakes/marzban.py for the panels' behaviour this relies on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

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
    from_unix,
    to_unix,
)

log = logging.getLogger(__name__)

MARZBAN, PASARGUARD = "marzban", "pasarguard"
# PasarGuard versions that changed what the adapter sends
BY_ID_SINCE = (3, 1, 0)  # /api/user/by-id/{id} and /by-username/{name}
HWID_SINCE = (4, 0, 0)  # hwid_limit on users
DISABLED_ROUTE_SINCE = (5, 0, 0)  # PUT /api/user/…/disabled {"disabled": bool}
PAGE_SIZE = 500
NOTE_MAX = 500
# what both panels accept in a username (the rest of their rules is theirs to check)
_NAME_CHARS = re.compile(r"^[A-Za-z0-9\-_@.]+$")


def _version_tuple(text: str) -> tuple[int, ...]:
    """"v5.2.1", "0.8.4", "1.0.0-rc-2" -> (5, 2, 1), (0, 8, 4), (1, 0, 0)."""
    numbers = re.findall(r"\d+", (text or "").split("-")[0].split("+")[0])
    return tuple(int(n) for n in numbers[:3]) or (0,)


def _when(value) -> datetime | None:
    """An expiry or a time from either panel: unix seconds (int, float or digits; ms when
    absurdly large), or ISO text (naive = UTC, as Marzban gives it; "Z" as PasarGuard does).
    None, 0 and anything unreadable are None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                log.warning("unreadable time from a panel: %r", text[:40])
                return None
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if isinstance(value, int | float):
        if value > 2e10:
            value = value / 1000
        return from_unix(value)
    return None


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _detail(response: httpx.Response) -> str:
    """What an error answer says, short: the panels' {"detail": str | {field: msg}}, FastAPI's
    [{loc, msg}], or the title of an HTML page (nginx) / the start of a plain text."""
    try:
        data = response.json()
    except ValueError:
        text = response.text or ""
        title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        text = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
        return " ".join(text.split())[:200]
    detail = data.get("detail", data) if isinstance(data, dict) else data
    if isinstance(detail, dict):
        return "; ".join(f"{field}: {message}" for field, message in detail.items())[:400]
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = item.get("loc") or ["?"]
                parts.append(f"{loc[-1]}: {item.get('msg', '')}")
            else:
                parts.append(str(item))
        return "; ".join(parts)[:400]
    return str(detail)[:400]


@register
class MarzbanAdapter(Adapter):
    kinds = [MARZBAN, PASARGUARD]
    kind = MARZBAN

    def __init__(self, panel, *, transport: httpx.BaseTransport | None = None):
        super().__init__(panel, transport=transport)
        self.kind = panel.kind
        self.pg = panel.kind == PASARGUARD
        self._auth: dict[str, str] | None = None  # the header that authenticates our calls
        self._logged_in = False  # whether _auth came from a login (not a stored token)
        self.version = ""  # what the probe found
        self._version: tuple[int, ...] | None = None
        self._inbound_protocols: dict[str, str] | None = None  # Marzban: tag -> protocol

    @property
    def _label(self) -> str:
        return str(getattr(self.panel, "name", "") or getattr(self.panel, "pk", "") or "?")

    def __repr__(self):
        return f"<{type(self).__name__} {self.kind} panel {self._label}>"

    # --- auth -------------------------------------------------------------------------------------
    def _login(self) -> None:
        username = self.panel.username
        password = crypto.decrypt(self.panel.password_encrypted)
        if not (username and password):
            raise PanelAuthError(f"{self.kind}: no username and password to log in with")
        response = self.request("POST", "/api/admin/token",
                                data={"grant_type": "password", "username": username, "password": password})
        del password
        if response.status_code in (401, 403):
            raise PanelAuthError(f"{self.kind} login refused ({response.status_code}): wrong username or password")
        if response.status_code == 422:
            raise PanelAuthError(f"{self.kind} login refused (422): {_detail(response)}")
        self._raise_for(response, "POST /api/admin/token")
        data = self._json(response, "POST /api/admin/token")
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise PanelRefused(f"{self.kind} login: the answer holds no access token (is this a {self.kind} panel?)")
        self._auth = {"Authorization": f"Bearer {token}"}
        self._logged_in = True
        log.info("%s panel %s: logged in", self.kind, self._label)

    def _stored_token(self) -> dict[str, str] | None:
        token = crypto.decrypt(self.panel.token_encrypted).strip()
        if not token:
            return None
        # PasarGuard API keys (pg_key_…) go in X-Api-Key; a JWT someone pasted is a bearer token
        if self.pg and not (token.startswith("eyJ") and token.count(".") == 2):
            return {"X-Api-Key": token}
        return {"Authorization": f"Bearer {token}"}

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One authenticated call. A 401 means the token expired: log in again once and repeat;
        a second 401 is PanelAuthError."""
        if self._auth is None:
            self._auth = self._stored_token()
            if self._auth is None:
                self._login()
        response = self.request(method, path, headers=self._auth, **kwargs)
        if response.status_code != 401:
            return response
        had_login = self._logged_in
        if not self.panel.username or not self.panel.password_encrypted:
            raise PanelAuthError(f"{self.kind} {method} {path}: the stored API token was refused (401)"
                                 " and there is no password to log in with")
        log.info("%s panel %s: %s refused (401), logging in again", self.kind, self._label,
                 "the token" if had_login else "the stored API token")
        self._login()
        response = self.request(method, path, headers=self._auth, **kwargs)
        if response.status_code == 401:
            raise PanelAuthError(f"{self.kind} {method} {path}: refused (401) right after logging in: {_detail(response)}")
        return response

    # --- answers ----------------------------------------------------------------------------------
    def _raise_for(self, response: httpx.Response, what: str, *, missing: str | None = None) -> None:
        """Nothing for a 2xx; otherwise the error the status means. `missing`: a 404 is
        AccountMissing with that name (else PanelRefused)."""
        status = response.status_code
        if 200 <= status < 300:
            return
        where = f"{self.kind} {what}"
        if status >= 500:
            raise PanelUnavailable(f"{where}: {status} {_detail(response)} (the outcome of a write is unknown)")
        if 300 <= status < 400:
            raise PanelRefused(f"{where}: redirected ({status}); check the panel's address (http/https, path)")
        if status == 401:
            raise PanelAuthError(f"{where}: 401 {_detail(response)}")
        if status == 403:
            raise PanelAuthError(f"{where}: 403 {_detail(response)} (the panel's admin lacks the rights)")
        if status == 404 and missing is not None:
            raise AccountMissing(f"{where}: no account {missing!r} on the panel")
        if status == 409:
            raise AccountExists(f"{where}: 409 {_detail(response)}")
        if 400 <= status < 500:
            raise PanelRefused(f"{where}: {status} {_detail(response)}")
        raise PanelUnavailable(f"{where}: unexpected status {status}")

    def _json(self, response: httpx.Response, what: str):
        try:
            return response.json()
        except ValueError:
            raise PanelUnavailable(f"{self.kind} {what}: answered {response.status_code} with something that is "
                                   "not JSON (a proxy page?); the outcome of a write is unknown") from None

    def _user_json(self, response: httpx.Response, what: str) -> dict:
        data = self._json(response, what)
        if not isinstance(data, dict) or "username" not in data:
            raise PanelUnavailable(f"{self.kind} {what}: the answer is not a user; the outcome of a write is unknown")
        return data

    def _call(self, method: str, path: str, what: str | None = None, *, missing: str | None = None,
              **kwargs) -> httpx.Response:
        what = what or f"{method} {path}"
        response = self._send(method, path, **kwargs)
        self._raise_for(response, what, missing=missing)
        return response

    # --- probe ------------------------------------------------------------------------------------
    def _probe(self) -> tuple[int, ...]:
        """GET /api/system once: which panel this is (refused when it is not panel.kind) and its
        version."""
        if self._version is not None:
            return self._version
        data = self._json(self._call("GET", "/api/system"), "GET /api/system")
        if not isinstance(data, dict) or "version" not in data:
            raise PanelRefused(f"{self.kind}: /api/system does not look like Marzban or PasarGuard")
        version = str(data.get("version") or "")
        numbers = _version_tuple(version)
        # Marzban's stats say users_active, PasarGuard's (every version) active_users
        if "active_users" in data:
            flavour = PASARGUARD
        elif "users_active" in data:
            flavour = MARZBAN
        else:
            flavour = MARZBAN if numbers[0] == 0 else PASARGUARD
        if flavour != self.kind:
            raise PanelRefused(f"the panel at this address is {flavour} {version}, not {self.kind}: "
                               f"change the panel's kind to {flavour}")
        self.version = version
        self._version = numbers
        return numbers

    def _pg_since(self, version: tuple[int, ...]) -> bool:
        return self.pg and self._probe() >= version

    def info(self) -> PanelInfo:
        self._probe()
        if self.pg:
            data = self._json(self._call("GET", "/api/groups"), "GET /api/groups")
            groups = data.get("groups", []) if isinstance(data, dict) else []
            inbounds = [{"id": g.get("id"), "name": g.get("name", ""), "inbound_tags": list(g.get("inbound_tags") or []),
                         "is_disabled": bool(g.get("is_disabled"))} for g in groups if isinstance(g, dict)]
        else:
            inbounds = [{"id": i.get("tag"), "tag": i.get("tag"), "protocol": protocol, "network": i.get("network", ""),
                         "tls": i.get("tls", ""), "port": i.get("port")}
                        for protocol, items in self._mz_inbounds().items() for i in items]
        return PanelInfo(kind=self.kind, version=self.version, inbounds=inbounds)

    def _mz_inbounds(self) -> dict[str, list[dict]]:
        data = self._json(self._call("GET", "/api/inbounds"), "GET /api/inbounds")
        if not isinstance(data, dict):
            raise PanelUnavailable(f"{self.kind} GET /api/inbounds: not a dict of protocols")
        result = {p: [i for i in items if isinstance(i, dict)] for p, items in data.items() if isinstance(items, list)}
        self._inbound_protocols = {i.get("tag"): p for p, items in result.items() for i in items}
        return result

    # --- paths ------------------------------------------------------------------------------------
    def _quoted(self, name: str) -> str:
        if not name or not _NAME_CHARS.match(name):
            raise PanelRefused(f"{self.kind}: username: {name[:40]!r} is not a valid panel username")
        return quote(name, safe="@")

    def _name_path(self, name: str) -> str:
        if self._pg_since(BY_ID_SINCE):
            return f"/api/user/by-username/{self._quoted(name)}"
        return f"/api/user/{self._quoted(name)}"

    def _path(self, user: dict) -> str:
        """Where to write to a user read from the panel: by id on PasarGuard when it can."""
        if self._pg_since(BY_ID_SINCE) and user.get("id") is not None:
            return f"/api/user/by-id/{_int(user['id'])}"
        return self._name_path(user["username"])

    # --- reading ------------------------------------------------------------------------------------
    def _absolute(self, url: str) -> str:
        """Marzban without XRAY_SUBSCRIPTION_URL_PREFIX (PasarGuard without a url_prefix) gives
        "/sub/<token>": put the panel's public address (or the origin of its address) before it."""
        if not url or not url.startswith("/"):
            return url or ""
        base = (self.panel.public_base_url or "").rstrip("/")
        if not base:
            parts = urlsplit(self.panel.base_url)
            base = f"{parts.scheme}://{parts.netloc}"
        return base + url

    def _account(self, user: dict) -> Account:
        status = str(user.get("status") or "")
        return Account(
            name=str(user.get("username", "")),
            enabled=status != "disabled",
            expires_at=_when(user.get("expire")),
            limit_bytes=_int(user.get("data_limit")),
            used_bytes=_int(user.get("used_traffic")),
            status=status,
            last_online=_when(user.get("online_at")),
            subscription_url=self._absolute(str(user.get("subscription_url") or "")),
            remote_id=str(user["id"]) if self.pg and user.get("id") is not None else "",
            devices=_int(user.get("hwid_limit")),
        )

    def _find(self, name: str) -> dict | None:
        self._probe()
        path = self._name_path(name)
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        self._raise_for(response, f"GET {path}")
        return self._user_json(response, f"GET {path}")

    def _need(self, name: str) -> dict:
        user = self._find(name)
        if user is None:
            raise AccountMissing(f"{self.kind}: no account {name!r} on the panel")
        return user

    def _read_back(self, path: str, name: str) -> Account:
        response = self._send("GET", path)
        if response.status_code == 404:
            raise VerifyFailed(f"{self.kind} account {name}: gone when read back after the write")
        self._raise_for(response, f"GET {path}")
        return self._account(self._user_json(response, f"GET {path}"))

    def get(self, name: str) -> Account | None:
        user = self._find(name)
        return None if user is None else self._account(user)

    def accounts(self) -> Iterator[Account]:
        self._probe()
        offset, seen = 0, set()
        while True:
            params = {"offset": offset, "limit": PAGE_SIZE}
            if self.pg:
                params["load_sub"] = "true"  # else PasarGuard leaves subscription_url empty in lists
            data = self._json(self._call("GET", "/api/users", params=params), "GET /api/users")
            users = data.get("users") if isinstance(data, dict) else None
            if not isinstance(users, list):
                raise PanelUnavailable(f"{self.kind} GET /api/users: the answer holds no user list")
            for user in users:
                if isinstance(user, dict) and user.get("username") not in seen:
                    seen.add(user.get("username"))
                    yield self._account(user)
            offset += len(users)
            total = data.get("total")
            if len(users) < PAGE_SIZE or (isinstance(total, int) and offset >= total):
                return

    # --- writing ------------------------------------------------------------------------------------
    def _check(self, spec: AccountSpec, account: Account) -> Account:
        self.verify(spec, account)
        if self._pg_since(HWID_SINCE) and spec.devices and account.devices != spec.devices:
            raise VerifyFailed(f"{self.kind} account {spec.name}: devices {account.devices} instead of {spec.devices}")
        return account

    def _marzban_placement(self) -> tuple[dict, dict]:
        """proxies and inbounds for a new Marzban user from panel.inbounds (tags); no tags
        configured = every inbound of the panel."""
        by_protocol = self._mz_inbounds()
        tags = [str(t) for t in (self.panel.inbounds or [])]
        inbounds: dict[str, list[str]] = {}
        if tags:
            for tag in tags:
                protocol = (self._inbound_protocols or {}).get(tag)
                if protocol is None:
                    raise PanelRefused(f"{self.kind}: inbounds: {tag!r} is not an inbound of the panel")
                inbounds.setdefault(protocol, []).append(tag)
        else:
            inbounds = {p: [i["tag"] for i in items] for p, items in by_protocol.items() if items}
        if not inbounds:
            raise PanelRefused(f"{self.kind}: inbounds: the panel has no inbounds to put an account in")
        return {protocol: {} for protocol in inbounds}, inbounds

    def _pasarguard_groups(self) -> list[int]:
        """group_ids for a new PasarGuard user: panel.inbounds (group ids); none configured =
        every enabled group."""
        configured = self.panel.inbounds or []
        if configured:
            try:
                return [int(g) for g in configured]
            except (TypeError, ValueError):
                raise PanelRefused(f"{self.kind}: inbounds: PasarGuard needs group ids (numbers), "
                                   f"not {configured!r:.80}") from None
        data = self._json(self._call("GET", "/api/groups"), "GET /api/groups")
        groups = [g["id"] for g in (data.get("groups", []) if isinstance(data, dict) else [])
                  if isinstance(g, dict) and g.get("id") is not None and not g.get("is_disabled")]
        if not groups:
            raise PanelRefused(f"{self.kind}: inbounds: the panel has no enabled group to put an account in")
        return groups

    def create(self, spec: AccountSpec) -> Account:
        self._probe()
        body: dict = {"username": spec.name, "expire": to_unix(spec.expires_at), "data_limit": spec.limit_bytes,
                      "data_limit_reset_strategy": "no_reset", "status": "active"}
        if spec.note:
            body["note"] = spec.note[:NOTE_MAX]
        if self.pg:
            body["proxy_settings"] = {}  # every protocol's credentials generated by the panel
            body["group_ids"] = self._pasarguard_groups()
            if spec.devices and self._pg_since(HWID_SINCE):
                body["hwid_limit"] = spec.devices
        else:
            body["proxies"], body["inbounds"] = self._marzban_placement()
        # both panels create only active (or on_hold) users: a disabled account is created, then disabled
        user = self._user_json(self._call("POST", "/api/user", json=body), "POST /api/user")
        subscription_url = self._absolute(str(user.get("subscription_url") or ""))
        path = self._path(user)
        if not spec.enabled:
            self._set_enabled(path, False)
        log.info("%s panel %s: created account %s", self.kind, self._label, spec.name)
        account = self._read_back(path, spec.name)
        account.subscription_url = subscription_url or account.subscription_url
        return self._check(spec, account)

    def _set_enabled(self, path: str, enabled: bool) -> dict:
        if self._pg_since(DISABLED_ROUTE_SINCE):
            response = self._call("PUT", f"{path}/disabled", json={"disabled": not enabled})
        else:
            response = self._call("PUT", path, json={"status": "active" if enabled else "disabled"})
        return self._user_json(response, f"PUT {path}")

    def update(self, spec: AccountSpec) -> Account:
        user = self._need(spec.name)
        current = self._account(user)
        path = self._path(user)
        body: dict = {}
        if to_unix(spec.expires_at) != to_unix(current.expires_at):
            body["expire"] = to_unix(spec.expires_at)  # 0 = never
        if spec.limit_bytes != current.limit_bytes:
            body["data_limit"] = spec.limit_bytes  # 0 = unlimited
        if self._pg_since(HWID_SINCE) and spec.devices != current.devices and (spec.devices or user.get("hwid_limit")):
            # 0 = no device limit for this user (null would mean "the panel's default": never sent)
            body["hwid_limit"] = spec.devices
        if spec.note and spec.note[:NOTE_MAX] != (user.get("note") or ""):
            body["note"] = spec.note[:NOTE_MAX]
        toggle = spec.enabled != current.enabled
        separate_toggle = toggle and self._pg_since(DISABLED_ROUTE_SINCE)
        if toggle and not separate_toggle:
            body["status"] = "active" if spec.enabled else "disabled"
        if body and isinstance(user.get("next_plan"), dict):
            # both panels delete the next plan when a PUT omits it: keep an operator's next plan
            body["next_plan"] = {k: v for k, v in user["next_plan"].items() if v is not None}
        body = {k: v for k, v in body.items() if v is not None}
        if not body and not toggle:
            return self._check(spec, current)
        if body:
            self._call("PUT", path, missing=spec.name, json=body)
        if separate_toggle:
            # after the fields: enabling works the status out from the new expiry and limit
            self._set_enabled(path, spec.enabled)
        log.info("%s panel %s: updated account %s (%s)", self.kind, self._label, spec.name,
                 ", ".join([*body, *(["disabled"] if separate_toggle else [])]))
        return self._check(spec, self._read_back(path, spec.name))

    @staticmethod
    def _spec_of(account: Account) -> AccountSpec:
        return AccountSpec(name=account.name, expires_at=account.expires_at, limit_bytes=account.limit_bytes,
                           devices=account.devices, enabled=account.enabled)

    def reset_usage(self, name: str) -> Account:
        user = self._need(name)
        before = self._account(user)
        path = self._path(user)
        answer = self._user_json(self._call("POST", f"{path}/reset", missing=name), f"POST {path}/reset")
        if not before.enabled and answer.get("status") != "disabled":
            # Marzban's reset re-activates a disabled user (a substring test against "expired")
            log.info("%s panel %s: reset enabled %s again; disabling it", self.kind, self._label, name)
            self._set_enabled(path, False)
        account = self._read_back(path, name)
        if account.used_bytes and account.used_bytes >= before.used_bytes:
            raise VerifyFailed(f"{self.kind} account {name}: used {account.used_bytes} bytes after the reset")
        return self._check(self._spec_of(before), account)

    def regenerate_link(self, name: str) -> Account:
        user = self._need(name)
        before = self._account(user)
        path = self._path(user)
        answer = self._user_json(self._call("POST", f"{path}/revoke_sub", missing=name), f"POST {path}/revoke_sub")
        subscription_url = self._absolute(str(answer.get("subscription_url") or ""))
        account = self._read_back(path, name)
        # the token embeds the second it was made: keep the URL the revoke answered
        account.subscription_url = subscription_url or account.subscription_url
        return self._check(self._spec_of(before), account)

    def delete(self, name: str) -> None:
        user = self._find(name)
        if user is None:
            return
        path = self._path(user)
        response = self._send("DELETE", path)
        if response.status_code != 404:  # 404: deleted meanwhile
            self._raise_for(response, f"DELETE {path}")
        log.info("%s panel %s: deleted account %s", self.kind, self._label, name)
        response = self._send("GET", path)
        if response.status_code != 404:
            self._raise_for(response, f"GET {path}")
            raise VerifyFailed(f"{self.kind} account {name}: still on the panel after the delete")
