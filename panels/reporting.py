"""How panels look to an operator (the admin, the API, the bot, the commands): a panel's error
in words they can act on (never a secret: the adapters' messages hold none), usage, the
inbounds a test found, a sync's outcome."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.core.admin_tools import interpolate

from . import crypto
from .adapters import PanelAuthError, PanelError, PanelRefused, PanelUnavailable
from .services import PanelsError, SyncResult

GB = 1024**3
SHORT = 120  # characters of an error in a list


def error_text(exc: Exception) -> str:
    """What went wrong with a panel, for the operator who asked."""
    if isinstance(exc, PanelsError):
        return str(exc)
    if isinstance(exc, crypto.SecretUnreadable):
        return _("The panel's stored password or token cannot be read with the current key (PANEL_ENCRYPTION_KEY "
                 "or SECRET_KEY changed): set it again.")
    detail = str(exc)
    if isinstance(exc, PanelUnavailable):
        if "CERTIFICATE_VERIFY_FAILED" in detail or "SSL" in detail:
            return interpolate(_("The panel's TLS certificate was not accepted: renew it, or turn off \"verify TLS "
                                 "certificate\" for a self-signed one. (%(error)s)"), error=detail)
        return interpolate(_("The panel could not be reached or did not answer in time: check its address, that it "
                             "is running, and the timeout. (%(error)s)"), error=detail)
    if isinstance(exc, PanelAuthError):
        return interpolate(_("The panel refused the credentials: check the username and password, or the API "
                             "token. (%(error)s)"), error=detail)
    if isinstance(exc, PanelRefused):
        return interpolate(_("The panel refused the request: %(error)s"), error=detail)
    if isinstance(exc, PanelError):
        return interpolate(_("The panel answered unexpectedly: %(error)s"), error=detail)
    raise TypeError(f"not a panel error: {type(exc).__name__}")


ERRORS = (PanelError, PanelsError, crypto.SecretUnreadable)  # what error_text explains


def short(text: str, limit: int = SHORT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def gigabytes(n: int) -> str:
    value = f"{n / GB:.1f}"
    return value[:-2] if value.endswith(".0") else value


def usage_text(used_bytes: int | None, limit_bytes: int | None) -> str:
    """"3.2 / 10 GB", or "3.2 GB / unlimited"."""
    used = gigabytes(used_bytes or 0)
    if not limit_bytes:
        return interpolate(_("%(used)s GB / unlimited"), used=used)
    return interpolate(_("%(used)s / %(limit)s GB"), used=used, limit=gigabytes(limit_bytes))


def inbound_line(inbound: dict) -> str:
    """One inbound (3x-ui, Marzban) or group (PasarGuard) of a panel's test, on one line."""
    ident = inbound.get("id")
    label = inbound.get("remark") or inbound.get("name") or ""
    if not label and inbound.get("tag") and inbound.get("tag") != ident:
        label = inbound["tag"]
    details = [str(v) for v in (inbound.get("protocol"), inbound.get("network")) if v]
    if inbound.get("port"):
        details.append(f":{inbound['port']}")
    if inbound.get("inbound_tags"):
        details.append(", ".join(map(str, inbound["inbound_tags"])))
    line = f"{ident}" + (f" {label}" if label else "") + (f" ({' '.join(details)})" if details else "")
    if inbound.get("is_disabled"):
        line += " — " + _("disabled")
    return line


def inbounds_text(inbounds: list[dict], limit: int = 20) -> str:
    if not inbounds:
        return _("none")
    lines = [inbound_line(i) for i in inbounds[:limit]]
    if len(inbounds) > limit:
        lines.append(interpolate(_("… and %(n)s more"), n=len(inbounds) - limit))
    return "; ".join(lines)


def sync_text(result: SyncResult) -> str:
    """What one panel's sync saw and did."""
    text = interpolate(_("%(panel)s: %(seen)s accounts seen, %(updated)s updated, %(missing)s missing, %(drifted)s "
                         "with new differences, %(warned)s usage warnings"),
                       panel=result.panel, seen=result.seen, updated=result.updated, missing=result.missing,
                       drifted=result.drifted, warned=result.warned)
    if result.drift_examples:
        text += " (" + "; ".join(result.drift_examples) + ")"
    return text
