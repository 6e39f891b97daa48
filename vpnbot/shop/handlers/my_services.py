"""/my_services in the bot: the customer's running services, one per chain of renewals.

A service with an account on a panel comes as the QR code of its subscription link, with its
days, a usage bar, the link and buttons (renew, more traffic, a new link) in the caption (the
text first, then the picture, when it is longer than a caption may be). Services delivered by
hand come as before: their configs in as few messages as fit (a <code> is never cut in two), a
config too long for a message as a file. Then the New link buttons: svc:link (are you sure?),
svc:linkok (done), svc:cancel."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.translation import gettext as _

from vpnbot.transport.bot import BotContext
from vpnbot.transport.sender import MAX_CAPTION, MAX_TEXT

from .. import selectors
from .. import services as shop_services
from ..formatting import config_fits_message, config_html, days_until, format_date, qr_png, usage_line
from ..provisioning import AccountInfo, get_provisioner

SHOWN = ("active", "disabled")  # an account in these states has a link to show


def my_services(ctx: BotContext) -> None:
    services = selectors.services_for(ctx.customer)
    if not services:
        ctx.reply(_("You have no active service. Buy one with /buy."))
        return
    accounts = get_provisioner().account_info([s.current for s in services])
    packs_on_sale = bool(selectors.traffic_packs_on_sale())
    parts, files = [], []
    for service in services:
        info = accounts.get(service.current.pk)
        if info is not None and info.status in SHOWN and info.subscription_url:
            _send_grouped(ctx, parts)
            parts = []
            _send_account(ctx, service, info, packs_on_sale)
            continue
        sub = service.current
        lines = [_heading(ctx, service)]
        if info is not None or not sub.config:  # an account being made (or failed: the operators were told)
            lines.append(_("Your config is being prepared; you will get a message."))
        elif config_fits_message(sub.config):
            lines.append("<code>" + config_html(sub.config) + "</code>")
        else:  # saved before configs were limited to what fits in a message
            lines.append(_("Your config is in the file below."))
            files.append(sub)
        parts.append("\n".join(lines))
    _send_grouped(ctx, parts)
    for sub in files:
        ctx.reply_document(f"config-{sub.pk}.txt", sub.config.encode(),
                           caption=_("Config of %(plan)s") % {"plan": sub.plan.name})


def _heading(ctx: BotContext, service: selectors.Service) -> str:
    sub = service.current
    values = {"plan": escape(sub.plan.name), "date": format_date(service.expires_at, ctx.customer),
              "days": days_until(service.expires_at)}
    if sub.is_trial:
        return _("🎁 %(plan)s (free trial) — until %(date)s (%(days)s days left)") % values
    return _("📦 %(plan)s — until %(date)s (%(days)s days left)") % values


def _send_grouped(ctx: BotContext, parts: list[str]) -> None:
    """One message per group of services that fits: Telegram refuses a <code> cut in two."""
    if not parts:
        return
    messages = [parts[0]]
    for part in parts[1:]:
        if len(messages[-1]) + 2 + len(part) > MAX_TEXT:
            messages.append(part)
        else:
            messages[-1] += "\n\n" + part
    for text in messages:
        ctx.reply(text)


def _send_account(ctx: BotContext, service: selectors.Service, info: AccountInfo, packs_on_sale: bool) -> None:
    sub = service.current
    lines = [_heading(ctx, service)]
    if info.status == "disabled":
        lines.append(_("⛔ This service is switched off on its server right now."))
    if info.used_bytes is not None and info.limit_bytes is not None:
        lines.append(usage_line(info.used_bytes, info.limit_bytes))
        if info.usage_read_at:
            lines.append(_("Usage as of %(date)s") % {"date": format_date(info.usage_read_at, ctx.customer)})
    lines.append(_("🔗 Your subscription link:") + "\n<code>" + config_html(info.subscription_url) + "</code>")
    text = "\n".join(lines)
    buttons = []
    if sub.plan.is_active:
        label = _("🛒 Buy %(plan)s") % {"plan": sub.plan.name} if sub.is_trial else _("🔄 Renew")
        buttons.append([(label, f"buy:p:{sub.plan_id}")])
    if info.status == "active":
        if packs_on_sale and info.limit_bytes:
            buttons.append([(_("➕ More traffic"), f"tp:{sub.pk}")])
        buttons.append([(_("🔁 New link"), f"svc:link:{sub.pk}")])
    photo = (f"qr-{sub.pk}.png", qr_png(info.subscription_url))
    if len(text) <= MAX_CAPTION:  # measured with its tags: never more than Telegram counts
        ctx.reply_photo(photo, caption=text, buttons=buttons or None, parse_mode="HTML")
    else:
        ctx.reply(text, buttons=buttons or None)
        ctx.reply_photo(photo, caption=_("QR code of %(plan)s") % {"plan": sub.plan.name})


# --- a new subscription link ------------------------------------------------------------------------


def _own_account(ctx: BotContext):
    """The customer's running subscription of the pressed button and its account, or a polite
    refusal (someone else's, stale or forged id; a service delivered by hand)."""
    sub = selectors.subscription_running(ctx.customer, ctx.match.group(1))
    if sub is None:
        ctx.answer(_("This service is not one of your running services. See /my_services."), alert=True)
        return None
    info = get_provisioner().account_info([sub]).get(sub.pk)
    if info is None:
        ctx.answer(_("A new link can be made only for services on our servers."), alert=True)
        return None
    return sub


def new_link(ctx: BotContext) -> None:
    """svc:link:<subscription>: are you sure?"""
    sub = _own_account(ctx)
    if sub is None:
        return
    ctx.edit(_("🔁 A new link for %(plan)s?\nYour old link will stop working: every device that uses it must be "
               "set up again with the new one.") % {"plan": escape(sub.plan.name)},
             buttons=[[(_("✅ Yes, make a new link"), f"svc:linkok:{sub.pk}")], [(_("✖️ Cancel"), "svc:cancel")]])


def new_link_confirmed(ctx: BotContext) -> None:
    """svc:linkok:<subscription>: the provisioner makes the link; the shop delivers it."""
    sub = _own_account(ctx)
    if sub is None:
        return
    try:
        shop_services.subscription_new_link(subscription=sub)
    except shop_services.NewLinkTooSoon as exc:
        ctx.answer(str(exc), alert=True)
        return
    except shop_services.ShopError as exc:
        ctx.edit(escape(str(exc)))
        return
    ctx.edit(_("✅ Done: your new link is in the next message. Your old link no longer works."))


def new_link_cancelled(ctx: BotContext) -> None:
    ctx.edit(_("Nothing changed: your link stays as it is."))
