"""What every panel adapter offers, in the shop's terms: an account is named, has an expiry,
a traffic limit in bytes, a device limit, and is enabled or not. Adapters translate to each
panel's units and quirks, and raise the errors below so that the services can decide.

Every write is read back and compared (`Adapter.verify`): a panel that answered "ok" but did
not apply the change is an error, not a success.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from vpnbot.transport.redact import redact

from .. import crypto

log = logging.getLogger(__name__)


# --- errors: what the services decide on ------------------------------------------------------------

class PanelError(Exception):
    """Something went wrong talking to a panel. The message never holds a secret."""

    retry = False  # whether trying again later may succeed

    def __init__(self, message: str):
        super().__init__(redact(message)[:500])


class PanelUnavailable(PanelError):
    """The panel could not be reached, timed out or answered 5xx: the outcome of a write is
    unknown (look the account up before trying again)."""

    retry = True


class PanelAuthError(PanelError):
    """The panel refused our credentials (after logging in again): an operator must fix them."""


class PanelRefused(PanelError):
    """The panel understood and refused (a 4xx, a 3x-ui success:false): trying again the same
    way will not help."""


class AccountExists(PanelRefused):
    """An account with that name is already on the panel."""


class AccountMissing(PanelError):
    """No account with that name on the panel."""


class VerifyFailed(PanelError):
    """The panel answered "done" but reading the account back shows otherwise."""

    retry = True


# --- values --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccountSpec:
    """What the shop wants an account to be."""

    name: str
    expires_at: datetime | None  # None = never
    limit_bytes: int = 0  # 0 = unlimited
    devices: int = 0  # 0 = unlimited
    enabled: bool = True
    note: str = ""


@dataclass
class Account:
    """What a panel says an account is."""

    name: str
    enabled: bool
    expires_at: datetime | None
    limit_bytes: int
    used_bytes: int = 0
    status: str = ""  # the panel's own word (active, disabled, limited, expired, on_hold, …)
    last_online: datetime | None = None
    subscription_url: str = ""
    remote_id: str = ""
    devices: int = 0


@dataclass
class PanelInfo:
    """What "test connection" shows: the panel's version and what a new account can be put in."""

    kind: str
    version: str
    inbounds: list[dict] = field(default_factory=list)  # {"id": …, "tag"/"name": …, "protocol": …}


def from_unix_ms(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms and ms > 0 else None


def to_unix_ms(when: datetime | None) -> int:
    return int(when.timestamp() * 1000) if when else 0


def from_unix(seconds: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds and seconds > 0 else None


def to_unix(when: datetime | None) -> int:
    return int(when.timestamp()) if when else 0


# --- the interface ----------------------------------------------------------------------------------------

class Adapter:
    """One per panel; holds one httpx.Client (connection reuse) and the session or token,
    logging in again when the panel says the session expired. Not shared between threads."""

    kind = ""
    # an expiry read back may differ from the one written by the panel's own rounding
    EXPIRY_TOLERANCE_SECONDS = 2

    def __init__(self, panel, *, transport: httpx.BaseTransport | None = None):
        self.panel = panel
        self.client = httpx.Client(base_url=panel.base_url.rstrip("/"), timeout=panel.timeout_seconds,
                                   verify=panel.verify_tls, transport=transport, follow_redirects=False,
                                   headers={"User-Agent": "vpn-shop-bot"})

    def close(self) -> None:
        self.client.close()

    def secret(self, field: str) -> str:
        """The panel's password or token ("password_encrypted" / "token_encrypted"), decrypted
        only for the call that needs it; unreadable (the key changed) is an auth error."""
        try:
            return crypto.decrypt(getattr(self.panel, field))
        except crypto.SecretUnreadable:
            what = "password" if field.startswith("password") else "token"
            raise PanelAuthError(f"{self.kind}: the stored {what} cannot be read with the current key: "
                                 "set it again") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # what each adapter implements
    def info(self) -> PanelInfo:
        raise NotImplementedError

    def get(self, name: str) -> Account | None:
        """The account, or None when the panel has none by that name."""
        raise NotImplementedError

    def create(self, spec: AccountSpec) -> Account:
        """Create it; AccountExists when the name is taken. Returns the account read back."""
        raise NotImplementedError

    def update(self, spec: AccountSpec) -> Account:
        """Make the account what spec says (expiry, limit, devices, enabled); AccountMissing
        when it is not there. Returns the account read back."""
        raise NotImplementedError

    def reset_usage(self, name: str) -> Account:
        raise NotImplementedError

    def regenerate_link(self, name: str) -> Account:
        """A new subscription link (and credentials): the old link stops working."""
        raise NotImplementedError

    def delete(self, name: str) -> None:
        """Delete it; no error when it is already gone."""
        raise NotImplementedError

    def accounts(self) -> Iterator[Account]:
        """Every account on the panel, read page by page (never one call per account)."""
        raise NotImplementedError

    # shared
    def verify(self, spec: AccountSpec, account: Account) -> Account:
        """Compare what was written with what the panel reads back; VerifyFailed on a difference."""
        problems = []
        if account.enabled != spec.enabled:
            problems.append(f"enabled {account.enabled} instead of {spec.enabled}")
        if account.limit_bytes != spec.limit_bytes:
            problems.append(f"limit {account.limit_bytes} instead of {spec.limit_bytes}")
        want, got = spec.expires_at, account.expires_at
        if (want is None) != (got is None) or (
                want and got and abs((want - got).total_seconds()) > self.EXPIRY_TOLERANCE_SECONDS):
            problems.append(f"expiry {got} instead of {want}")
        if problems:
            raise VerifyFailed(f"{self.kind} account {spec.name}: " + "; ".join(problems))
        return account

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        """One HTTP call; network failures and timeouts become PanelUnavailable."""
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise PanelUnavailable(f"{self.kind} {method} {url}: timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise PanelUnavailable(f"{self.kind} {method} {url}: {type(exc).__name__}: {exc}") from None
