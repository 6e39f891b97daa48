"""Admin commands of the panels: /panels (each panel's state at a glance) and
/retry_provisioning <subscription> (the command the admins' "provisioning failed" alert names),
and the alert's Retry button (pn:retry:<subscription>)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.core.numbers import parse_whole_number
from vpnbot.shop.formatting import format_date
from vpnbot.transport.bot import BotContext, add_callback, add_command

from . import reporting, selectors, services

MAX_PANELS = 30  # in one message (4096 characters)
SUBSCRIPTION_DIGITS = 12


def retry_provisioning(ctx: BotContext) -> None:
    usage = _("Usage: /retry_provisioning <subscription number>, e.g. /retry_provisioning 42")
    if len(ctx.args) != 1:
        ctx.reply(usage, parse_mode=None)
        return
    subscription_id = parse_whole_number(ctx.args[0], max_digits=SUBSCRIPTION_DIGITS)
    if subscription_id is None:
        ctx.reply(_("“%(value)s” is not a subscription number.") % {"value": ctx.args[0][:40]} + "\n" + usage,
                  parse_mode=None)
        return
    _retry(ctx, subscription_id)


def retry_button(ctx: BotContext) -> None:
    """The Retry button of the "provisioning failed" alert."""
    _retry(ctx, int(ctx.match.group(1)))


def _retry(ctx: BotContext, subscription_id: int) -> None:
    subscription = selectors.subscription_get(subscription_id)
    if subscription is None:
        text = _("There is no subscription #%(id)s.") % {"id": subscription_id}
    else:
        try:
            account = services.account_retry(subscription=subscription)
        except services.PanelsError as exc:
            text = str(exc)
        else:
            text = _("🔄 Subscription #%(id)s: its account %(name)s on panel %(panel)s was sent to the panel again "
                     "(now: %(status)s). The customer gets the link when it is ready; if it fails again you will be "
                     "told.") % {"id": subscription.pk, "name": account.name, "panel": account.panel.name,
                                 "status": account.get_status_display()}
    ctx.reply(text, parse_mode=None)


def panels(ctx: BotContext) -> None:
    rows = list(selectors.panels_with_counts().order_by("name")[:MAX_PANELS + 1])
    if not rows:
        ctx.reply(_("There are no panels yet: add one in the admin (VPN panels) or through the API."), parse_mode=None)
        return
    never = _("never")
    lines = [_("🖥 Panels"), ""]
    for panel in rows[:MAX_PANELS]:
        capacity = panel.capacity or "∞"
        lines.append(f"• {panel.name} ({panel.get_kind_display()}) — {panel.get_status_display()}")
        lines.append("  " + _("accounts: %(active)s / %(capacity)s · version: %(version)s") % {
            "active": panel.active_accounts, "capacity": capacity, "version": panel.version or "?"})
        lines.append("  " + _("last sync: %(synced)s · last test: %(checked)s") % {
            "synced": format_date(panel.synced_at, ctx.customer) if panel.synced_at else never,
            "checked": format_date(panel.checked_at, ctx.customer) if panel.checked_at else never})
        if panel.last_error:
            lines.append("  ⚠️ " + _("last error: %(error)s") % {"error": reporting.short(panel.last_error, 200)})
    if len(rows) > MAX_PANELS:
        lines.append(_("… and more: see the admin."))
    ctx.reply("\n".join(lines), parse_mode=None)


def register(application) -> None:
    add_command(application, "panels", panels, admin=True)
    add_command(application, "retry_provisioning", retry_provisioning, admin=True)
    add_callback(application, rf"^pn:retry:(\d{{1,{SUBSCRIPTION_DIGITS}}})$", retry_button, admin=True)
