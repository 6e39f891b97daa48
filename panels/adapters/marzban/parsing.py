"""What the panels answer, read: times, numbers, versions, an error's words, and a user as the
shop's Account (with its subscription link made absolute)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from ..base import Account, from_unix

if TYPE_CHECKING:  # the package imports this module: the adapter's type is for annotations only
    from . import MarzbanAdapter

log = logging.getLogger(__package__)  # the adapter's logger ("panels.adapters.marzban")


def version_tuple(text: str) -> tuple[int, ...]:
    """"v5.2.1", "0.8.4", "1.0.0-rc-2" -> (5, 2, 1), (0, 8, 4), (1, 0, 0)."""
    numbers = re.findall(r"\d+", (text or "").split("-")[0].split("+")[0])
    return tuple(int(n) for n in numbers[:3]) or (0,)


def when(value) -> datetime | None:
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


def as_int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def error_detail(response: httpx.Response) -> str:
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


def absolute(adapter: MarzbanAdapter, url: str) -> str:
    """Marzban without XRAY_SUBSCRIPTION_URL_PREFIX (PasarGuard without a url_prefix) gives
    "/sub/<token>": put the panel's public address (or the origin of its address) before it."""
    if not url or not url.startswith("/"):
        return url or ""
    base = (adapter.panel.public_base_url or "").rstrip("/")
    if not base:
        parts = urlsplit(adapter.panel.base_url)
        base = f"{parts.scheme}://{parts.netloc}"
    return base + url


def to_account(adapter: MarzbanAdapter, user: dict) -> Account:
    status = str(user.get("status") or "")
    return Account(
        name=str(user.get("username", "")),
        enabled=status != "disabled",
        expires_at=when(user.get("expire")),
        limit_bytes=as_int(user.get("data_limit")),
        used_bytes=as_int(user.get("used_traffic")),
        status=status,
        last_online=when(user.get("online_at")),
        subscription_url=absolute(adapter, str(user.get("subscription_url") or "")),
        remote_id=str(user["id"]) if adapter.pg and user.get("id") is not None else "",
        devices=as_int(user.get("hwid_limit")),
    )
