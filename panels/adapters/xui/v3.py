"""The 3.1+ line: an account is one client record attached to every configured inbound, read and
written through /panel/api/clients/* (get, traffic, list/paged, add, update, attach, resetTraffic, del)."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..base import Account, AccountMissing, AccountSpec, PanelRefused, VerifyFailed
from .accounts import apply_spec, make_account, new_password, new_sub_id, new_uuid
from .inbounds import Inbound, configured_inbounds, inbound_by_id
from .session import CLIENTS, call, is_not_found, post, q

if TYPE_CHECKING:  # the package imports this module: the adapter's type is for annotations only
    from . import XuiAdapter

log = logging.getLogger(__package__)  # the adapter's logger ("panels.adapters.xui")

PAGE_SIZE = 200  # the largest page clients/list/paged answers (a larger pageSize is cut to 200)

# model.Client fields (an update replaces the client: these are carried over from the record)
CLIENT_FIELDS = ("security", "password", "flow", "auth", "email", "limitIp", "totalGB", "expiryTime", "enable",
                 "tgId", "subId", "group", "comment", "reset", "privateKey", "publicKey", "preSharedKey",
                 "keepAlive", "secret", "adTag")


# --- reading -----------------------------------------------------------------------------------------
def find_record(adapter: XuiAdapter, name: str) -> tuple[dict | None, list[int]]:
    try:
        data = call(adapter, "GET", f"{CLIENTS}/get/{q(name)}")
    except PanelRefused as exc:
        if is_not_found(exc):
            return None, []
        raise
    obj = data.get("obj") or {}
    record = obj.get("client") if isinstance(obj, dict) else None
    if not isinstance(record, dict):
        return None, []
    inbound_ids = [int(i) for i in obj.get("inboundIds") or []]
    record = dict(record, _inboundIds=inbound_ids, _usedTraffic=int(obj.get("usedTraffic") or 0))
    return record, inbound_ids


def traffic_of(adapter: XuiAdapter, name: str) -> dict | None:
    try:  # 3.3+: null when missing; 3.1–3.2: "Inbound Not Found For Email"
        return call(adapter, "GET", f"{CLIENTS}/traffic/{q(name)}").get("obj")
    except PanelRefused as exc:
        if not is_not_found(exc):
            raise
        return None


def to_account(adapter: XuiAdapter, record: dict, traffic) -> Account:
    traffic = traffic if isinstance(traffic, dict) else {}
    if traffic:
        used = int(traffic.get("up") or 0) + int(traffic.get("down") or 0)
    else:
        used = int(record.get("_usedTraffic") or 0)
    return make_account(adapter, name=str(record.get("email")), client=record, used=used,
                        last_online_ms=int(traffic.get("lastOnline") or 0), remote_id=str(record.get("uuid") or ""))


def read_back(adapter: XuiAdapter, name: str) -> tuple[Account | None, list[int], list[str]]:
    """The account as read back after a write and the inbounds it is in (nothing more to check here)."""
    record, inbound_ids = find_record(adapter, name)
    account = to_account(adapter, record, traffic_of(adapter, name)) if record else None
    return account, inbound_ids, []


def get(adapter: XuiAdapter, name: str) -> Account | None:
    record, _ = find_record(adapter, name)
    return to_account(adapter, record, traffic_of(adapter, name)) if record is not None else None


def accounts(adapter: XuiAdapter) -> Iterator[Account]:
    """Every client, one ``clients/list/paged`` page at a time (not ``clients/list``, which answers
    every client at once): memory stays flat in the number of clients, calls are pages + 0.

    Without ``sort`` the panel pages in its id order, so a client added meanwhile lands on a later
    page (read once). A name already yielded on the previous page is skipped (the offsets of an
    order that shifted by less than a page); only that page's names are kept, not every name. A
    client removed from an earlier page shifts the rest back by one: one client is then not read
    in this pass (the next sync reads it). An empty or short page, or the panel's total reached, ends.
    The page items carry no credentials: remote_id is the subId here (get() gives the UUID)."""
    page, previous = 1, frozenset()
    while True:
        where = f"3x-ui GET {CLIENTS}/list/paged page {page}"
        data = call(adapter, "GET", f"{CLIENTS}/list/paged", params={"page": page, "pageSize": PAGE_SIZE})
        obj = data.get("obj")
        items = obj.get("items") if isinstance(obj, dict) else None
        if not isinstance(items, list):
            raise PanelRefused(f"{where}: the answer holds no client list")
        names = set()
        for item in items:
            email = str(item.get("email") or "").lower() if isinstance(item, dict) else ""
            if email and email not in names:
                names.add(email)
                if email not in previous:
                    yield to_account(adapter, item, item.get("traffic"))
        size = obj.get("pageSize") if isinstance(obj.get("pageSize"), int) and obj["pageSize"] > 0 else PAGE_SIZE
        total = obj.get("filtered", obj.get("total"))
        if len(items) < size or (isinstance(total, int) and page * size >= total):
            return
        page, previous = page + 1, names


# --- writing -----------------------------------------------------------------------------------------
def client_from_record(record: dict) -> dict:
    """The whole model.Client of a client record: update/:email replaces the client, and an
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


def create(adapter: XuiAdapter, spec: AccountSpec, inbounds: list[Inbound]) -> None:
    client = {"email": spec.name, "subId": new_sub_id(), "limitIp": 0, "totalGB": 0, "expiryTime": 0,
              "enable": True, "tgId": 0, "comment": "", "reset": 0}
    protocols = {ib.protocol for ib in inbounds}
    if protocols & {"vless", "vmess"}:
        client["id"] = new_uuid()
    if protocols & {"trojan", "shadowsocks"}:
        client["password"] = new_password(inbounds)
    if "vmess" in protocols:
        client["security"] = "auto"
    apply_spec(client, spec)
    post(adapter, f"{CLIENTS}/add", {"client": client, "inboundIds": [ib.id for ib in inbounds]})
    if not spec.enabled:
        # clients/add forces enable=true: disable it with a (full) update
        record, _ = find_record(adapter, spec.name)
        if record is None:
            raise VerifyFailed(f"3x-ui client {spec.name} is not there after the write")
        full = client_from_record(record)
        apply_spec(full, spec)
        post(adapter, f"{CLIENTS}/update/{q(spec.name)}", full)


def update(adapter: XuiAdapter, spec: AccountSpec) -> None:
    record, inbound_ids = find_record(adapter, spec.name)
    if record is None:
        raise AccountMissing(f"3x-ui has no client {spec.name}")
    client = client_from_record(record)
    apply_spec(client, spec)
    post(adapter, f"{CLIENTS}/update/{q(spec.name)}", client)
    missing = [i for i in configured_inbounds(adapter, required=False) if i not in inbound_ids]
    if missing:
        post(adapter, f"{CLIENTS}/{q(spec.name)}/attach", {"inboundIds": missing})
        log.info("3x-ui client %s attached to the missing inbounds %s", spec.name, missing)


def reset_usage(adapter: XuiAdapter, name: str) -> None:
    post(adapter, f"{CLIENTS}/resetTraffic/{q(name)}")


def disable(adapter: XuiAdapter, name: str) -> None:
    """Disable the client again (a reset re-enables a disabled one); nothing when it is gone."""
    record, _ = find_record(adapter, name)
    if record is not None:
        client = client_from_record(record)
        client["enable"] = False
        post(adapter, f"{CLIENTS}/update/{q(name)}", client)


def regenerate_link(adapter: XuiAdapter, name: str, sub_id: str) -> None:
    record, _ = find_record(adapter, name)
    if record is None:
        raise AccountMissing(f"3x-ui has no client {name}")
    client = client_from_record(record)
    client["subId"] = sub_id
    if client.get("id"):
        client["id"] = new_uuid()
    if client.get("password"):
        client["password"] = new_password([inbound_by_id(adapter, i) for i in record.get("_inboundIds", [])])
    if client.get("auth"):
        client["auth"] = secrets.token_hex(16)
    post(adapter, f"{CLIENTS}/update/{q(name)}", client)


def delete(adapter: XuiAdapter, name: str) -> None:
    try:
        post(adapter, f"{CLIENTS}/del/{q(name)}")
    except PanelRefused as exc:
        if not is_not_found(exc):
            raise
    if get(adapter, name) is not None:
        raise VerifyFailed(f"3x-ui client {name} is still there after the delete")
