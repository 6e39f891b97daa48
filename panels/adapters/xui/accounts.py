"""An account both ways, for either line: the Account a client reads as (status, usage, link),
and the client fields an AccountSpec writes, with fresh ids and passwords."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..base import Account, AccountSpec, from_unix_ms, to_unix_ms
from .inbounds import Inbound, subscription_base

if TYPE_CHECKING:  # the package imports this module: the adapter's type is for annotations only
    from . import XuiAdapter

SS_KEY_SIZES = {"2022-blake3-aes-128-gcm": 16, "2022-blake3-aes-256-gcm": 32, "2022-blake3-chacha20-poly1305": 32}


def make_account(adapter: XuiAdapter, *, name: str, client: dict, used: int, last_online_ms: int,
                 remote_id: str) -> Account:
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
    base = subscription_base(adapter, required=False)
    return Account(name=name, enabled=enabled, expires_at=expires_at, limit_bytes=limit, used_bytes=used,
                   status=status, last_online=from_unix_ms(last_online_ms),
                   subscription_url=(base + sub_id) if base and sub_id else "",
                   remote_id=remote_id or sub_id, devices=int(client.get("limitIp") or 0))


def spec_of(account: Account) -> AccountSpec:
    return AccountSpec(name=account.name, expires_at=account.expires_at, limit_bytes=account.limit_bytes,
                       devices=account.devices, enabled=account.enabled)


def apply_spec(client: dict, spec: AccountSpec) -> None:
    client.update({"totalGB": int(spec.limit_bytes or 0), "expiryTime": to_unix_ms(spec.expires_at),
                   "limitIp": int(spec.devices or 0), "enable": bool(spec.enabled)})
    if spec.note:
        client["comment"] = spec.note


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_sub_id() -> str:
    return secrets.token_hex(8)  # 16 characters, like the panel's own random subIds


def new_password(inbounds: list[Inbound]) -> str:
    """A password every one of these inbounds accepts (Shadowsocks 2022 wants a base64 key of its size)."""
    size = max((SS_KEY_SIZES.get(ib.method, 0) for ib in inbounds if ib.protocol == "shadowsocks"), default=0)
    return base64.b64encode(secrets.token_bytes(size)).decode() if size else secrets.token_hex(16)
