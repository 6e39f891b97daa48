"""Marzban (v0.8.x) and PasarGuard (its successor, v1-v5) panels: one adapter for both kinds, the
differences decided by the flavour and version the probe finds (`GET /api/system`, once per adapter)."""

# Units: ``expire`` is unix seconds (0 = never), ``data_limit`` bytes (0 = unlimited). Updates
# send only the fields that change, never a null (null means something else per field on the
# real panels) and never the credentials (``proxies``/``proxy_settings``). Every write is read
# back and verified. The flavours' differences: flavours.py. See tests/fakes/marzban.py for the
# panels' behaviour this relies on.

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx

from .. import register
from ..base import Account, AccountMissing, AccountSpec, Adapter, PanelInfo, PanelUnavailable, VerifyFailed, to_unix
from .flavours import (
    DISABLED_ROUTE_SINCE,
    HWID_SINCE,
    marzban_placement,
    mz_inbounds,
    name_path,
    pasarguard_groups,
    set_enabled,
    user_path,
)
from .parsing import absolute, to_account
from .parsing import when as _when  # noqa: F401 - the tests read panel times with it, by this name
from .session import MARZBAN, PASARGUARD, call, pg_since, probe, raise_for, read_json, send, user_json

log = logging.getLogger(__name__)

PAGE_SIZE = 500
NOTE_MAX = 500


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

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One authenticated call (session.send), for a caller that holds the adapter."""
        return send(self, method, path, **kwargs)

    def info(self) -> PanelInfo:
        probe(self)
        if self.pg:
            data = read_json(self, call(self, "GET", "/api/groups"), "GET /api/groups")
            groups = data.get("groups", []) if isinstance(data, dict) else []
            inbounds = [{"id": g.get("id"), "name": g.get("name", ""), "inbound_tags": list(g.get("inbound_tags") or []),
                         "is_disabled": bool(g.get("is_disabled"))} for g in groups if isinstance(g, dict)]
        else:
            inbounds = [{"id": i.get("tag"), "tag": i.get("tag"), "protocol": protocol, "network": i.get("network", ""),
                         "tls": i.get("tls", ""), "port": i.get("port")}
                        for protocol, items in mz_inbounds(self).items() for i in items]
        return PanelInfo(kind=self.kind, version=self.version, inbounds=inbounds)

    # --- reading ------------------------------------------------------------------------------------
    def _find(self, name: str) -> dict | None:
        probe(self)
        path = name_path(self, name)
        response = send(self, "GET", path)
        if response.status_code == 404:
            return None
        raise_for(self, response, f"GET {path}")
        return user_json(self, response, f"GET {path}")

    def _need(self, name: str) -> dict:
        user = self._find(name)
        if user is None:
            raise AccountMissing(f"{self.kind}: no account {name!r} on the panel")
        return user

    def _read_back(self, path: str, name: str) -> Account:
        response = send(self, "GET", path)
        if response.status_code == 404:
            raise VerifyFailed(f"{self.kind} account {name}: gone when read back after the write")
        raise_for(self, response, f"GET {path}")
        return to_account(self, user_json(self, response, f"GET {path}"))

    def get(self, name: str) -> Account | None:
        user = self._find(name)
        return None if user is None else to_account(self, user)

    def accounts(self) -> Iterator[Account]:
        """Every user, PAGE_SIZE at a time by offset. A user added or removed meanwhile shifts the
        offsets: a name already yielded on the previous page is skipped. Only that page's names are
        kept (not every name read: memory stays flat in the number of users), which covers a shift
        of less than a page between two calls."""
        probe(self)
        offset, previous = 0, frozenset()
        while True:
            params = {"offset": offset, "limit": PAGE_SIZE}
            if self.pg:
                params["load_sub"] = "true"  # else PasarGuard leaves subscription_url empty in lists
            data = read_json(self, call(self, "GET", "/api/users", params=params), "GET /api/users")
            users = data.get("users") if isinstance(data, dict) else None
            if not isinstance(users, list):
                raise PanelUnavailable(f"{self.kind} GET /api/users: the answer holds no user list")
            names = set()
            for user in users:
                if isinstance(user, dict) and user.get("username") not in names:
                    names.add(user.get("username"))
                    if user.get("username") not in previous:
                        yield to_account(self, user)
            previous = names
            offset += len(users)
            total = data.get("total")
            if len(users) < PAGE_SIZE or (isinstance(total, int) and offset >= total):
                return

    # --- writing ------------------------------------------------------------------------------------
    def _check(self, spec: AccountSpec, account: Account) -> Account:
        self.verify(spec, account)
        if pg_since(self, HWID_SINCE) and spec.devices and account.devices != spec.devices:
            raise VerifyFailed(f"{self.kind} account {spec.name}: devices {account.devices} instead of {spec.devices}")
        return account

    def create(self, spec: AccountSpec) -> Account:
        probe(self)
        body: dict = {"username": spec.name, "expire": to_unix(spec.expires_at), "data_limit": spec.limit_bytes,
                      "data_limit_reset_strategy": "no_reset", "status": "active"}
        if spec.note:
            body["note"] = spec.note[:NOTE_MAX]
        if self.pg:
            body["proxy_settings"] = {}  # every protocol's credentials generated by the panel
            body["group_ids"] = pasarguard_groups(self)
            if spec.devices and pg_since(self, HWID_SINCE):
                body["hwid_limit"] = spec.devices
        else:
            body["proxies"], body["inbounds"] = marzban_placement(self)
        # both panels create only active (or on_hold) users: a disabled account is created, then disabled
        user = user_json(self, call(self, "POST", "/api/user", json=body), "POST /api/user")
        subscription_url = absolute(self, str(user.get("subscription_url") or ""))
        path = user_path(self, user)
        if not spec.enabled:
            set_enabled(self, path, False)
        log.info("%s panel %s: created account %s", self.kind, self._label, spec.name)
        account = self._read_back(path, spec.name)
        account.subscription_url = subscription_url or account.subscription_url
        return self._check(spec, account)

    def update(self, spec: AccountSpec) -> Account:
        user = self._need(spec.name)
        current = to_account(self, user)
        path = user_path(self, user)
        body: dict = {}
        if to_unix(spec.expires_at) != to_unix(current.expires_at):
            body["expire"] = to_unix(spec.expires_at)  # 0 = never
        if spec.limit_bytes != current.limit_bytes:
            body["data_limit"] = spec.limit_bytes  # 0 = unlimited
        if pg_since(self, HWID_SINCE) and spec.devices != current.devices and (spec.devices or user.get("hwid_limit")):
            # 0 = no device limit for this user (null would mean "the panel's default": never sent)
            body["hwid_limit"] = spec.devices
        if spec.note and spec.note[:NOTE_MAX] != (user.get("note") or ""):
            body["note"] = spec.note[:NOTE_MAX]
        toggle = spec.enabled != current.enabled
        separate_toggle = toggle and pg_since(self, DISABLED_ROUTE_SINCE)
        if toggle and not separate_toggle:
            body["status"] = "active" if spec.enabled else "disabled"
        if body and isinstance(user.get("next_plan"), dict):
            # both panels delete the next plan when a PUT omits it: keep an operator's next plan
            body["next_plan"] = {k: v for k, v in user["next_plan"].items() if v is not None}
        body = {k: v for k, v in body.items() if v is not None}
        if not body and not toggle:
            return self._check(spec, current)
        if body:
            call(self, "PUT", path, missing=spec.name, json=body)
        if separate_toggle:
            # after the fields: enabling works the status out from the new expiry and limit
            set_enabled(self, path, spec.enabled)
        log.info("%s panel %s: updated account %s (%s)", self.kind, self._label, spec.name,
                 ", ".join([*body, *(["disabled"] if separate_toggle else [])]))
        return self._check(spec, self._read_back(path, spec.name))

    @staticmethod
    def _spec_of(account: Account) -> AccountSpec:
        return AccountSpec(name=account.name, expires_at=account.expires_at, limit_bytes=account.limit_bytes,
                           devices=account.devices, enabled=account.enabled)

    def reset_usage(self, name: str) -> Account:
        user = self._need(name)
        before = to_account(self, user)
        path = user_path(self, user)
        answer = user_json(self, call(self, "POST", f"{path}/reset", missing=name), f"POST {path}/reset")
        if not before.enabled and answer.get("status") != "disabled":
            # Marzban's reset re-activates a disabled user (a substring test against "expired")
            log.info("%s panel %s: reset enabled %s again; disabling it", self.kind, self._label, name)
            set_enabled(self, path, False)
        account = self._read_back(path, name)
        if account.used_bytes and account.used_bytes >= before.used_bytes:
            raise VerifyFailed(f"{self.kind} account {name}: used {account.used_bytes} bytes after the reset")
        return self._check(self._spec_of(before), account)

    def regenerate_link(self, name: str) -> Account:
        user = self._need(name)
        before = to_account(self, user)
        path = user_path(self, user)
        answer = user_json(self, call(self, "POST", f"{path}/revoke_sub", missing=name), f"POST {path}/revoke_sub")
        subscription_url = absolute(self, str(answer.get("subscription_url") or ""))
        account = self._read_back(path, name)
        # the token embeds the second it was made: keep the URL the revoke answered
        account.subscription_url = subscription_url or account.subscription_url
        return self._check(self._spec_of(before), account)

    def delete(self, name: str) -> None:
        user = self._find(name)
        if user is None:
            return
        path = user_path(self, user)
        response = send(self, "DELETE", path)
        if response.status_code != 404:  # 404: deleted meanwhile
            raise_for(self, response, f"DELETE {path}")
        log.info("%s panel %s: deleted account %s", self.kind, self._label, name)
        response = send(self, "GET", path)
        if response.status_code != 404:
            raise_for(self, response, f"GET {path}")
            raise VerifyFailed(f"{self.kind} account {name}: still on the panel after the delete")
