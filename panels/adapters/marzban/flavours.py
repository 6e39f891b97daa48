"""Where Marzban and PasarGuard differ: how a user is addressed (by name, or by id on PasarGuard),
where a new one goes (Marzban's proxies and inbound tags, PasarGuard's groups), how it is disabled."""

# * Marzban: a new account gets ``proxies`` (one entry per protocol of the configured inbound
#   tags) and ``inbounds`` ({protocol: [tags]}); both are always sent (an omitted ``proxies``
#   breaks the user on the real panel, an omitted ``inbounds`` gives it none). Enable/disable is
#   ``status``. Users are addressed by name (case-insensitive on the panel).
# * PasarGuard: ``proxy_settings`` ({} = generate everything) and ``group_ids`` (the configured
#   group ids, never empty). Users are addressed ``/by-id/{id}`` since v3.1.0 (the id is
#   ``Account.remote_id``), by name before. Enable/disable is ``PUT …/disabled`` since v5.0.0,
#   ``status`` before. ``hwid_limit`` (devices) since v4.0.0.

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..base import PanelRefused, PanelUnavailable
from .parsing import as_int
from .session import call, pg_since, read_json, user_json

if TYPE_CHECKING:  # the package imports this module: the adapter's type is for annotations only
    from . import MarzbanAdapter

# PasarGuard versions that changed what the adapter sends
BY_ID_SINCE = (3, 1, 0)  # /api/user/by-id/{id} and /by-username/{name}
HWID_SINCE = (4, 0, 0)  # hwid_limit on users
DISABLED_ROUTE_SINCE = (5, 0, 0)  # PUT /api/user/…/disabled {"disabled": bool}
# what both panels accept in a username (the rest of their rules is theirs to check)
NAME_CHARS = re.compile(r"^[A-Za-z0-9\-_@.]+$")


# --- paths ------------------------------------------------------------------------------------
def quoted(adapter: MarzbanAdapter, name: str) -> str:
    if not name or not NAME_CHARS.match(name):
        raise PanelRefused(f"{adapter.kind}: username: {name[:40]!r} is not a valid panel username")
    return quote(name, safe="@")


def name_path(adapter: MarzbanAdapter, name: str) -> str:
    if pg_since(adapter, BY_ID_SINCE):
        return f"/api/user/by-username/{quoted(adapter, name)}"
    return f"/api/user/{quoted(adapter, name)}"


def user_path(adapter: MarzbanAdapter, user: dict) -> str:
    """Where to write to a user read from the panel: by id on PasarGuard when it can."""
    if pg_since(adapter, BY_ID_SINCE) and user.get("id") is not None:
        return f"/api/user/by-id/{as_int(user['id'])}"
    return name_path(adapter, user["username"])


# --- where a new user goes --------------------------------------------------------------------
def mz_inbounds(adapter: MarzbanAdapter) -> dict[str, list[dict]]:
    data = read_json(adapter, call(adapter, "GET", "/api/inbounds"), "GET /api/inbounds")
    if not isinstance(data, dict):
        raise PanelUnavailable(f"{adapter.kind} GET /api/inbounds: not a dict of protocols")
    result = {p: [i for i in items if isinstance(i, dict)] for p, items in data.items() if isinstance(items, list)}
    adapter._inbound_protocols = {i.get("tag"): p for p, items in result.items() for i in items}
    return result


def marzban_placement(adapter: MarzbanAdapter) -> tuple[dict, dict]:
    """proxies and inbounds for a new Marzban user from panel.inbounds (tags); no tags
    configured = every inbound of the panel."""
    by_protocol = mz_inbounds(adapter)
    tags = [str(t) for t in (adapter.panel.inbounds or [])]
    inbounds: dict[str, list[str]] = {}
    if tags:
        for tag in tags:
            protocol = (adapter._inbound_protocols or {}).get(tag)
            if protocol is None:
                raise PanelRefused(f"{adapter.kind}: inbounds: {tag!r} is not an inbound of the panel")
            inbounds.setdefault(protocol, []).append(tag)
    else:
        inbounds = {p: [i["tag"] for i in items] for p, items in by_protocol.items() if items}
    if not inbounds:
        raise PanelRefused(f"{adapter.kind}: inbounds: the panel has no inbounds to put an account in")
    return {protocol: {} for protocol in inbounds}, inbounds


def pasarguard_groups(adapter: MarzbanAdapter) -> list[int]:
    """group_ids for a new PasarGuard user: panel.inbounds (group ids); none configured =
    every enabled group."""
    configured = adapter.panel.inbounds or []
    if configured:
        try:
            return [int(g) for g in configured]
        except (TypeError, ValueError):
            raise PanelRefused(f"{adapter.kind}: inbounds: PasarGuard needs group ids (numbers), "
                               f"not {configured!r:.80}") from None
    data = read_json(adapter, call(adapter, "GET", "/api/groups"), "GET /api/groups")
    groups = [g["id"] for g in (data.get("groups", []) if isinstance(data, dict) else [])
              if isinstance(g, dict) and g.get("id") is not None and not g.get("is_disabled")]
    if not groups:
        raise PanelRefused(f"{adapter.kind}: inbounds: the panel has no enabled group to put an account in")
    return groups


# --- enabled or not ---------------------------------------------------------------------------
def set_enabled(adapter: MarzbanAdapter, path: str, enabled: bool) -> dict:
    if pg_since(adapter, DISABLED_ROUTE_SINCE):
        response = call(adapter, "PUT", f"{path}/disabled", json={"disabled": not enabled})
    else:
        response = call(adapter, "PUT", path, json={"status": "active" if enabled else "disabled"})
    return user_json(adapter, response, f"PUT {path}")
