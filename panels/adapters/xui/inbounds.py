"""The panel's inbounds (on 2.x with their clients and traffic rows), the ones configured for new
accounts, and the subscription address an account's link starts with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..base import PanelRefused
from .session import API, API_AUTH_STATUSES, INBOUNDS, PAGE_AUTH_STATUSES, call, is_not_found, version_tuple

if TYPE_CHECKING:  # the package imports this module: the adapter's type is for annotations only
    from . import XuiAdapter


@dataclass
class Inbound:
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


def parse_inbound(adapter: XuiAdapter, item: dict, *, with_clients: bool) -> Inbound:
    settings = item.get("settings")
    if isinstance(settings, str):  # 2.x: a JSON string; 3.1+: an object
        try:
            settings = json.loads(settings) if settings.strip() else {}
        except ValueError:
            settings = {}
    settings = settings if isinstance(settings, dict) else {}
    clients = settings.get("clients") if with_clients else None
    ib = Inbound(id=int(item.get("id") or 0), protocol=str(item.get("protocol") or ""),
                 remark=str(item.get("remark") or ""), port=int(item.get("port") or 0),
                 method=str(settings.get("method") or ""),
                 clients=[c for c in clients if isinstance(c, dict)] if isinstance(clients, list) else [],
                 stats=[s for s in item.get("clientStats") or [] if isinstance(s, dict)])
    adapter._inbounds[ib.id] = Inbound(ib.id, ib.protocol, ib.remark, ib.port, ib.method)
    return ib


def list_inbounds(adapter: XuiAdapter) -> list[Inbound]:
    """Every inbound with its clients and their traffic rows: one call."""
    data = call(adapter, "GET", f"{INBOUNDS}/list")
    return [parse_inbound(adapter, item, with_clients=True) for item in data.get("obj") or [] if isinstance(item, dict)]


def inbound_by_id(adapter: XuiAdapter, inbound_id: int) -> Inbound:
    """An inbound's protocol, remark, port (cached for the adapter's life)."""
    if inbound_id not in adapter._inbounds:
        try:
            data = call(adapter, "GET", f"{INBOUNDS}/get/{int(inbound_id)}")
        except PanelRefused as exc:
            if is_not_found(exc):
                raise PanelRefused(f"3x-ui has no inbound {inbound_id}: check the panel's inbounds")
            raise
        parse_inbound(adapter, data.get("obj") or {}, with_clients=False)
    if inbound_id not in adapter._inbounds:  # success with an empty or another inbound: the same as none
        raise PanelRefused(f"3x-ui answered no inbound {inbound_id}: check the panel's inbounds")
    return adapter._inbounds[inbound_id]


def configured_inbounds(adapter: XuiAdapter, *, required: bool = True) -> list[int]:
    ids = []
    for value in adapter.panel.inbounds or []:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise PanelRefused(f"3x-ui inbounds are numeric ids; {value!r} is not one")
    if required and not ids:
        raise PanelRefused("no 3x-ui inbound is set for new accounts on this panel")
    return list(dict.fromkeys(ids))


# --- subscription link -------------------------------------------------------------------------------
def subscription_base(adapter: XuiAdapter, *, required: bool) -> str:
    """panel.public_base_url, else the sub address the panel's settings offer (subURI, or the one it
    builds from subDomain/subPort/subPath), else PanelRefused (required) or ""."""
    if not adapter._sub_base_known:
        base = (adapter.panel.public_base_url or "").strip()
        if not base:
            base = panel_sub_base(adapter)
        adapter._sub_base = (base.rstrip("/") + "/") if base else None
        adapter._sub_base_known = True
    if adapter._sub_base is None and required:
        raise PanelRefused("3x-ui: set the panel's public subscription address (the subscription server's "
                           "URL with its path, e.g. https://host:2096/sub/): the panel's settings do not offer one")
    return adapter._sub_base or ""


def panel_sub_base(adapter: XuiAdapter) -> str:
    """POST defaultSettings: under /panel/setting (cookie only) before 3.3.0, /panel/api/setting after."""
    newer = adapter._clients_api and version_tuple(adapter) >= (3, 3, 0)
    path = f"{API}/setting/defaultSettings" if newer else "/panel/setting/defaultSettings"
    try:
        data = call(adapter, "POST", path, missing_ok=True, soft_auth=True,
                    auth_statuses=API_AUTH_STATUSES if newer else PAGE_AUTH_STATUSES)
    except PanelRefused:
        return ""
    obj = (data or {}).get("obj")
    if not isinstance(obj, dict) or obj.get("subEnable") is False:
        return ""
    return str(obj.get("subURI") or "")
