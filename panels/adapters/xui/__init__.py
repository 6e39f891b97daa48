"""The 3x-ui (MHSanaei/3x-ui) adapter: it probes the panel's API line once (session), then hands each
operation to the 2.x line's inbound routes (v2) or the 3.1+ line's clients API (v3)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from .. import register
from ..base import Account, AccountMissing, AccountSpec, Adapter, PanelInfo, VerifyFailed
from . import session, v2, v3
from .accounts import new_sub_id, spec_of
from .inbounds import Inbound, configured_inbounds, inbound_by_id, list_inbounds, subscription_base
from .v2 import Entry


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
        self._inbounds: dict[int, Inbound] = {}
        self._sub_base: str | None = None
        self._sub_base_known = False
        self._del_by_email = True  # 2.8+; turned off when the route turns out to be missing

    def __repr__(self):
        return f"<XuiAdapter {self.panel.base_url!r}>"

    def _line(self):
        """The module of the panel's API line, v2 or v3 (after session.ready)."""
        return v3 if self._clients_api else v2

    # --- the interface ---------------------------------------------------------------------------------
    def info(self) -> PanelInfo:
        session.ready(self)
        inbounds = list_inbounds(self)
        subscription_base(self, required=True)
        return PanelInfo(kind=self.kind, version=self._version,
                         inbounds=[{"id": ib.id, "remark": ib.remark, "protocol": ib.protocol, "port": ib.port}
                                   for ib in inbounds])

    def get(self, name: str) -> Account | None:
        session.ready(self)
        return self._line().get(self, name)

    def create(self, spec: AccountSpec) -> Account:
        session.ready(self)
        inbound_ids = configured_inbounds(self)
        inbounds = [inbound_by_id(self, i) for i in inbound_ids]
        subscription_base(self, required=True)  # before writing: no account without a link to give
        self._line().create(self, spec, inbounds)
        return self._verified(spec, all_inbounds=True)

    def update(self, spec: AccountSpec) -> Account:
        session.ready(self)
        self._line().update(self, spec)
        return self._verified(spec, all_inbounds=True)

    def reset_usage(self, name: str) -> Account:
        session.ready(self)
        before = self._require(name)
        self._line().reset_usage(self, name)
        after = self._require(name)
        if not before.enabled and after.enabled and self._clients_api:
            # 3.1+ re-enables a disabled client on a reset (ResetTrafficByEmail): keep it as it was
            v3.disable(self, name)
            after = self._verified(spec_of(before))
        if before.used_bytes > 0 and after.used_bytes >= before.used_bytes:
            raise VerifyFailed(f"3x-ui client {name}: usage still {after.used_bytes} bytes after the reset")
        return after

    def regenerate_link(self, name: str) -> Account:
        session.ready(self)
        before = self._require(name)
        sub_id = new_sub_id()
        subscription_base(self, required=True)
        self._line().regenerate_link(self, name, sub_id)
        after = self._verified(spec_of(before))
        if after.remote_id == before.remote_id or after.subscription_url == before.subscription_url:
            raise VerifyFailed(f"3x-ui client {name}: the subscription id did not change")
        return after

    def delete(self, name: str) -> None:
        session.ready(self)
        self._line().delete(self, name)

    def accounts(self) -> Iterator[Account]:
        session.ready(self)
        yield from self._line().accounts(self)

    # --- reading back ------------------------------------------------------------------------------------
    def _require(self, name: str) -> Account:
        account = self.get(name)
        if account is None:
            raise AccountMissing(f"3x-ui has no client {name}")
        return account

    def _verified(self, spec: AccountSpec, *, all_inbounds: bool = False) -> Account:
        """Read the account back and compare: the shared checks (enabled, limit, expiry), the device
        limit, on 2.x every client of the account (not only the first), and with all_inbounds its
        presence in every configured inbound."""
        account, inbound_ids, problems = self._line().read_back(self, spec.name)
        if account is None:
            raise VerifyFailed(f"3x-ui client {spec.name} is not there after the write")
        self.verify(spec, account)
        if account.devices != spec.devices:
            problems.append(f"devices {account.devices} instead of {spec.devices}")
        if all_inbounds:
            missing = [i for i in configured_inbounds(self, required=False) if i not in inbound_ids]
            if missing:
                problems.append(f"not in inbounds {missing}")
        if problems:
            raise VerifyFailed(f"3x-ui account {spec.name}: " + "; ".join(problems))
        return account

    def _delete_entry(self, entry: Entry) -> bool:
        """One 2.x client's delete (v2.delete_entry); v2 calls it through the adapter, where a test
        can stand in for it."""
        return v2.delete_entry(self, entry)
