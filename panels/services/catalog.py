"""Panels as data: adding and changing one (its secrets encrypted), testing the connection,
which plans it sells, and choosing the panel a new account goes to."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import crypto
from ..adapters import PanelError, PanelInfo, adapter_for
from ..models import Panel, PanelAccount
from .errors import PanelsError

# the fields an operator sets (secrets go through panel_set_secrets)
EDITABLE = ("name", "kind", "base_url", "public_base_url", "username", "inbounds", "verify_tls", "timeout_seconds",
            "status", "capacity")
HOLDING = (PanelAccount.Status.PENDING, PanelAccount.Status.ACTIVE)


def _check(panel: Panel) -> None:
    try:
        panel.full_clean(exclude=["plans"])
    except ValidationError as exc:
        raise PanelsError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())) from None
    if panel.kind != Panel.Kind.MANUAL and not panel.base_url:
        raise PanelsError(_("A panel of this kind needs its address."))
    panel.inbounds = inbounds_clean(kind=panel.kind, inbounds=panel.inbounds)


def panel_create(*, password: str = "", token: str = "", **fields) -> Panel:
    panel = Panel(**{k: v for k, v in fields.items() if k in EDITABLE})
    panel.password_encrypted = crypto.encrypt(password)
    panel.token_encrypted = crypto.encrypt(token)
    _check(panel)
    if panel.kind != Panel.Kind.MANUAL and not (panel.token_encrypted or (panel.username and panel.password_encrypted)):
        raise PanelsError(_("Give a username and password, or an API token."))
    panel.save()
    return panel


def panel_update(*, panel_id: int, password: str | None = None, token: str | None = None, **fields) -> Panel:
    """Change a panel; a secret given as "" is removed, one left out (None) is kept."""
    with transaction.atomic():
        panel = Panel.objects.select_for_update().get(pk=panel_id)
        kind = fields.get("kind", panel.kind)
        if kind != panel.kind and panel.accounts.exclude(status=PanelAccount.Status.DELETED).exists():
            raise PanelsError(_("This panel holds accounts: its kind cannot change. Add a new panel instead."))
        for name, value in fields.items():
            if name in EDITABLE:
                setattr(panel, name, value)
        if password is not None:
            panel.password_encrypted = crypto.encrypt(password)
        if token is not None:
            panel.token_encrypted = crypto.encrypt(token)
        _check(panel)
        panel.save()
    return panel


def panel_test(*, panel_id: int) -> PanelInfo:
    """Log in and read the panel's version and inbounds; remembered on the panel (and any
    error, in words an operator can act on). Raises PanelError."""
    panel = Panel.objects.get(pk=panel_id)
    if panel.kind == Panel.Kind.MANUAL:
        raise PanelsError(_("A manual panel has nothing to connect to."))
    now = timezone.now()
    try:
        with adapter_for(panel) as adapter:
            info = adapter.info()
    except (PanelError, crypto.SecretUnreadable) as exc:
        Panel.objects.filter(pk=panel.pk).update(checked_at=now, last_error=str(exc)[:1000])
        raise
    Panel.objects.filter(pk=panel.pk).update(checked_at=now, last_error="", version=info.version[:40])
    return info


def plan_targets(plans) -> dict[int, list[int]]:
    ids = [plan.pk for plan in plans]
    found: dict[int, list[int]] = {pk: [] for pk in ids}
    for plan_id, panel_id in Panel.plans.through.objects.filter(plan_id__in=ids).values_list("plan_id", "panel_id"):
        found[plan_id].append(panel_id)
    return found


def plan_set_targets(*, plan, panel_ids: list[int]) -> None:
    panel_ids = sorted(set(panel_ids))
    known = set(Panel.objects.filter(pk__in=panel_ids).values_list("pk", flat=True))
    unknown = [pk for pk in panel_ids if pk not in known]
    if unknown:
        raise PanelsError(_("No such panel: %(ids)s.") % {"ids": ", ".join(map(str, unknown))})
    plan.panels.set(panel_ids)


def panel_choose(plan) -> Panel | None:
    """Inside the caller's transaction: the plan's active panel with the most room (a panel
    without a capacity has unlimited room; ties go to the emptier one), locked so that
    purchases at the same moment count each other. None when none has room."""
    candidates = list(Panel.objects.select_for_update().filter(plans=plan, status=Panel.Status.ACTIVE)
                      .exclude(kind=Panel.Kind.MANUAL).order_by("pk"))
    if not candidates:
        return None
    held = dict(Panel.objects.filter(pk__in=[p.pk for p in candidates])
                .annotate(n=Count("accounts", filter=Q(accounts__status__in=HOLDING))).values_list("pk", "n"))
    best, best_key = None, None
    for panel in candidates:
        used = held.get(panel.pk, 0)
        if panel.capacity and used >= panel.capacity:
            continue
        room = (panel.capacity - used) if panel.capacity else float("inf")
        key = (room, -used, -panel.pk)
        if best_key is None or key > best_key:
            best, best_key = panel, key
    return best


def plan_is_on_panels(plan) -> bool:
    return Panel.objects.filter(plans=plan).exclude(kind=Panel.Kind.MANUAL).exists()


def panel_delete(*, panel_id: int) -> None:
    """Delete a panel that never held an account (accounts keep their panel for the record:
    a panel that held any is set to disabled instead)."""
    with transaction.atomic():
        panel = Panel.objects.select_for_update().get(pk=panel_id)
        held = PanelAccount.objects.filter(panel=panel).count()
        if held:
            raise PanelsError(_("Panel %(name)s holds %(n)s accounts and cannot be deleted: set its status to "
                                "disabled instead.") % {"name": panel.name, "n": held})
        panel.delete()


def inbounds_clean(*, kind: str, inbounds) -> list:
    """What a new account of this kind of panel is put in, checked: 3x-ui inbound ids (at least
    one), Marzban inbound tags, PasarGuard group ids (none = every inbound / enabled group).
    Whole numbers given as digits are read as numbers. Raises PanelsError."""
    if not isinstance(inbounds, list):
        raise PanelsError(_("Inbounds are a list, e.g. [1, 2] or [\"VLESS TCP\"]."))
    if kind in (Panel.Kind.XUI, Panel.Kind.PASARGUARD):
        ids = []
        for value in inbounds:
            if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
                value = int(value.strip())
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
                raise PanelsError(_("%(kind)s needs numeric ids here; %(value)s is not one.")
                                  % {"kind": Panel.Kind(kind).label, "value": repr(value)[:40]})
            ids.append(value)
        if kind == Panel.Kind.XUI and not ids:
            raise PanelsError(_("Give at least one 3x-ui inbound id for new accounts."))
        return list(dict.fromkeys(ids))
    if kind == Panel.Kind.MARZBAN:
        tags = []
        for value in inbounds:
            if not isinstance(value, str) or not value.strip() or len(value) > 100:
                raise PanelsError(_("Marzban needs inbound tags (text) here; %(value)s is not one.")
                                  % {"value": repr(value)[:40]})
            tags.append(value.strip())
        return list(dict.fromkeys(tags))
    if not all(isinstance(i, int | str) and not isinstance(i, bool) for i in inbounds):
        raise PanelsError(_("Inbounds are a list of ids or tags, e.g. [1, 2] or [\"vless-tcp\"]."))
    return inbounds
