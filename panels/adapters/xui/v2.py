"""The 2.x line (every version below 3.1.0): an account is one client per configured inbound, all
with one subId, read and written through the inbound routes (/panel/api/inbounds/*)."""

# Clients live inside each inbound's settings; routes ``/panel/api/inbounds/{list, get/:id,
# addClient, updateClient/:clientId, :id/delClientByEmail/:email (2.8+), :id/delClient/:clientId,
# :id/resetClientTraffic/:email}``. An account is one client per inbound of ``panel.inbounds``, all
# with the same subId (one subscription link): the client named ``name`` in the first inbound and
# ``f"{name}-{inbound_id}"`` in the others (an email is unique across the panel). Usage is the sum
# of the clients'.

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..base import Account, AccountMissing, AccountSpec, PanelRefused, PanelUnavailable, VerifyFailed
from .accounts import apply_spec, make_account, new_password, new_sub_id, new_uuid
from .inbounds import Inbound, configured_inbounds, inbound_by_id, list_inbounds
from .session import INBOUNDS, call, is_not_found, panel_msg, post, q

if TYPE_CHECKING:  # the package imports this module: the adapter's type is for annotations only
    from . import XuiAdapter

log = logging.getLogger(__package__)  # the adapter's logger ("panels.adapters.xui")


@dataclass
class Entry:
    """One client of an account inside one inbound."""

    inbound: Inbound
    raw: dict

    @property
    def email(self) -> str:
        return str(self.raw.get("email") or "")

    @property
    def client_id(self) -> str:
        return str(self.raw.get(self.inbound.client_key) or "")


# --- reading -----------------------------------------------------------------------------------------
def traffic_rows(inbounds: list[Inbound]) -> dict[str, dict]:
    return {str(row.get("email")): row for ib in inbounds for row in ib.stats if row.get("email")}


def entries_of(adapter: XuiAdapter, name: str) -> tuple[list[Entry], list[Inbound]]:
    """The account's clients (the one named `name` first, then its "name-<inbound id>" ones with the
    same subId) from one /list call."""
    inbounds = list_inbounds(adapter)
    key = name.lower()
    mains = [Entry(ib, raw) for ib in inbounds for raw in ib.clients if str(raw.get("email") or "").lower() == key]
    if not mains:
        return [], inbounds
    sub_id = mains[0].raw.get("subId")
    extras = [Entry(ib, raw) for ib in inbounds for raw in ib.clients
              if sub_id and raw.get("subId") == sub_id and str(raw.get("email") or "").lower() == f"{key}-{ib.id}"]
    return mains + extras, inbounds


def to_account(adapter: XuiAdapter, entries: list[Entry], inbounds: list[Inbound], stats: dict | None = None) -> Account:
    stats = traffic_rows(inbounds) if stats is None else stats
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
    return make_account(adapter, name=main.email, client=main.raw, used=used, last_online_ms=last_online,
                        remote_id=remote_id)


def read_back(adapter: XuiAdapter, name: str) -> tuple[Account | None, list[int], list[str]]:
    """The account as read back after a write, the inbounds it is in, and what is wrong with it
    beyond the shared checks: every client of the account (not only the first) must agree."""
    problems = []
    entries, inbounds = entries_of(adapter, name)
    account = to_account(adapter, entries, inbounds) if entries else None
    inbound_ids = [e.inbound.id for e in entries]
    main = entries[0].raw if entries else {}
    for entry in entries[1:]:
        differ = [k for k in ("enable", "expiryTime", "totalGB", "limitIp") if entry.raw.get(k) != main.get(k)]
        if differ:
            problems.append(f"{entry.email} in inbound {entry.inbound.id} differs ({', '.join(differ)})")
    return account, inbound_ids, problems


def get(adapter: XuiAdapter, name: str) -> Account | None:
    entries, inbounds = entries_of(adapter, name)
    return to_account(adapter, entries, inbounds) if entries else None


def accounts(adapter: XuiAdapter) -> Iterator[Account]:
    # one answer, not pages: the 2.x line has no client list of its own, only the inbound list with
    # every inbound's clients (in its settings) and their clientStats rows; memory grows with the clients
    inbounds = list_inbounds(adapter)
    mains: dict[str, list[Entry]] = {}
    for ib in inbounds:
        for raw in ib.clients:
            email = str(raw.get("email") or "")
            if email:
                mains.setdefault(email.lower(), []).append(Entry(ib, raw))
    grouped: dict[str, list[Entry]] = {key: list(entries) for key, entries in mains.items()}
    for ib in inbounds:  # "bob-7" in inbound 7 with bob's subId belongs to bob
        suffix = f"-{ib.id}"
        for raw in ib.clients:
            email = str(raw.get("email") or "").lower()
            owner = email[:-len(suffix)] if email.endswith(suffix) else ""
            if owner and owner in mains and raw.get("subId") and raw.get("subId") == mains[owner][0].raw.get("subId"):
                grouped[owner].append(Entry(ib, raw))
                grouped.pop(email, None)
    stats = traffic_rows(inbounds)
    for entries in grouped.values():
        yield to_account(adapter, entries, inbounds, stats)


# --- writing -----------------------------------------------------------------------------------------
def credentials(inbound: Inbound, shared: dict) -> dict:
    """A client's credentials for its inbound: the account's UUID (vless/vmess), its hex password
    (trojan: the password is the :clientId in a URL path, so no "/" from base64), or a key of the
    inbound's Shadowsocks method (clientId = email there)."""
    if inbound.protocol in ("vless", "vmess"):
        return {"id": shared["id"]}
    if inbound.protocol == "shadowsocks":
        return {"password": new_password([inbound])}
    return {"password": shared["password"]}


def new_client(spec: AccountSpec, email: str, sub_id: str, inbound: Inbound, shared: dict) -> dict:
    client = {**credentials(inbound, shared), "email": email, "limitIp": 0, "totalGB": 0, "expiryTime": 0,
              "enable": True, "tgId": 0, "subId": sub_id, "comment": "", "reset": 0}
    if inbound.protocol in ("vless", "vmess"):
        client["flow"] = ""
    if inbound.protocol == "vmess":
        client["security"] = "auto"
    apply_spec(client, spec)
    return client


def add(adapter: XuiAdapter, inbound: Inbound, client: dict) -> None:
    post(adapter, f"{INBOUNDS}/addClient", {"id": inbound.id, "settings": json.dumps({"clients": [client]})})


def create(adapter: XuiAdapter, spec: AccountSpec, inbounds: list[Inbound]) -> None:
    sub_id = new_sub_id()
    creds = {"id": new_uuid(), "password": secrets.token_hex(16)}
    first, *others = inbounds
    add(adapter, first, new_client(spec, spec.name, sub_id, first, creds))
    for inbound in others:
        try:
            add(adapter, inbound, new_client(spec, f"{spec.name}-{inbound.id}", sub_id, inbound, creds))
        except PanelUnavailable:
            raise  # unknown outcome: the caller looks the account up (update() adds what is missing)
        except PanelRefused as exc:
            roll_back(adapter, spec.name)
            raise PanelRefused(f"3x-ui: could not add {spec.name} to inbound {inbound.id} "
                               f"(created clients removed): {exc}")


def roll_back(adapter: XuiAdapter, name: str) -> None:
    try:
        entries, _ = entries_of(adapter, name)
        for entry in sorted(entries, key=lambda e: e.email.lower() == name.lower()):
            adapter._delete_entry(entry)
    except Exception:  # noqa: BLE001 - best effort; the refusal is what gets reported
        log.warning("3x-ui: rolling back the half-created client %s failed", name, exc_info=True)


def repair(adapter: XuiAdapter, spec: AccountSpec, entries: list[Entry]) -> None:
    """Add the account to configured inbounds it is missing from (a create cut short)."""
    have = {e.inbound.id for e in entries}
    main = entries[0]
    missing = [i for i in configured_inbounds(adapter, required=False) if i not in have]
    if not missing:
        return
    inbounds = [inbound_by_id(adapter, i) for i in missing]
    creds = {"id": next((str(e.raw["id"]) for e in entries if e.raw.get("id")), "") or new_uuid(),
             "password": next((str(e.raw["password"]) for e in entries
                               if e.inbound.protocol == "trojan" and e.raw.get("password")), "") or secrets.token_hex(16)}
    for inbound in inbounds:
        add(adapter, inbound, new_client(spec, f"{main.email}-{inbound.id}", str(main.raw.get("subId")), inbound, creds))
    log.info("3x-ui client %s added to the missing inbounds %s", spec.name, missing)


def update(adapter: XuiAdapter, spec: AccountSpec) -> None:
    entries, _ = entries_of(adapter, spec.name)
    if not entries:
        raise AccountMissing(f"3x-ui has no client {spec.name}")
    for entry in entries:
        raw = dict(entry.raw)
        apply_spec(raw, spec)
        update_entry(adapter, entry, raw)
    repair(adapter, spec, entries)


def update_entry(adapter: XuiAdapter, entry: Entry, raw: dict) -> None:
    """updateClient/:clientId (uuid for vless/vmess, password for trojan, email for shadowsocks) with
    the settings as a JSON string; the clientId is the one before the change."""
    raw = {k: v for k, v in raw.items() if k != "updated_at"}
    post(adapter, f"{INBOUNDS}/updateClient/{quote(entry.client_id, safe='')}",
         {"id": entry.inbound.id, "settings": json.dumps({"clients": [raw]})})


def reset_usage(adapter: XuiAdapter, name: str) -> None:
    entries, _ = entries_of(adapter, name)
    done = set()
    for entry in entries:
        if entry.email in done:
            continue
        done.add(entry.email)
        post(adapter, f"{INBOUNDS}/{entry.inbound.id}/resetClientTraffic/{q(entry.email)}")


def regenerate_link(adapter: XuiAdapter, name: str, sub_id: str) -> None:
    entries, _ = entries_of(adapter, name)
    creds = {"id": new_uuid(), "password": secrets.token_hex(16)}
    for entry in entries:
        raw = dict(entry.raw, subId=sub_id)
        raw.update(credentials(entry.inbound, creds))
        update_entry(adapter, entry, raw)


def delete(adapter: XuiAdapter, name: str) -> None:
    entries, _ = entries_of(adapter, name)
    disabled = set()
    # the extra inbounds' clients first, the one named `name` last: a delete cut short leaves an
    # account that get() still finds, and deleting again finishes the job
    for entry in sorted(entries, key=lambda e: e.email.lower() == name.lower()):
        if not adapter._delete_entry(entry):
            disabled.add((entry.inbound.id, entry.email))
    left, _ = entries_of(adapter, name)
    alive = [e for e in left if (e.inbound.id, e.email) not in disabled or e.raw.get("enable") is not False]
    if alive:
        raise VerifyFailed(f"3x-ui client {name} is still there after the delete "
                           f"(inbounds {sorted({e.inbound.id for e in alive})})")


def delete_entry(adapter: XuiAdapter, entry: Entry) -> bool:
    """Delete one client from its inbound; False when it was the inbound's last client and was
    disabled instead (3x-ui refuses to empty an inbound)."""
    ib = entry.inbound.id
    try:
        if adapter._del_by_email:
            data = call(adapter, "POST", f"{INBOUNDS}/{ib}/delClientByEmail/{q(entry.email)}", missing_ok=True)
            if data is not None:
                return True
            adapter._del_by_email = False  # before 2.8.0
        post(adapter, f"{INBOUNDS}/{ib}/delClient/{quote(entry.client_id, safe='')}")
        return True
    except PanelRefused as exc:
        text = panel_msg(exc).lower()
        if "no client remained" in text:
            update_entry(adapter, entry, dict(entry.raw, enable=False))
            log.warning("3x-ui client %s is the last one of inbound %s, which the panel will not empty: "
                        "disabled instead of deleted", entry.email, ib)
            return False
        if is_not_found(exc) and "record not found" not in text:
            return True  # already gone
        raise
