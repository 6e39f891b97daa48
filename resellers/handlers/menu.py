"""The reseller's menu: /reseller (wallet, credit, accounts running and the buttons), their
sub-resellers (rs:subs, /sub_reseller), this month's figures (rs:month) and their API tokens
(rs:api, rs:tnew, rs:tok, rs:trev:<token>)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.translation import gettext as _

from vpnbot.shop.formatting import format_date, money
from vpnbot.transport.bot import BotContext

from .. import services
from ..services import menu
from .common import as_reseller, back_to_menu, say


def _menu_text(reseller) -> str:
    overview = menu.reseller_overview(reseller=reseller)
    lines = [_("🤝 Reseller menu"), "",
             _("Balance: %(amount)s") % {"amount": money(overview.balance_amount)},
             _("Credit limit: %(amount)s") % {"amount": money(overview.credit_limit_amount)},
             _("Credit used: %(amount)s") % {"amount": money(overview.credit_used_amount)},
             _("Available to spend (balance + credit limit): %(amount)s") % {"amount": money(overview.available_amount)},
             _("Accounts running: %(count)s") % {"count": overview.accounts_running}]
    if overview.is_frozen:
        lines += ["", _("❄️ Your reseller account is frozen: purchases and renewals are paused. Please contact the shop.")]
    return "\n".join(lines)


def _menu_buttons() -> list:
    return [[(_("🛒 Buy accounts"), "rs:buy"), (_("📋 My accounts"), "rs:accs:1")],
            [(_("👥 Sub-resellers"), "rs:subs"), (_("📊 This month"), "rs:month")],
            [(_("🔑 API token"), "rs:api")]]


@as_reseller
def reseller_command(ctx: BotContext, reseller) -> None:
    """/reseller"""
    ctx.reply(_menu_text(reseller), buttons=_menu_buttons(), parse_mode=None)


@as_reseller
def menu_button(ctx: BotContext, reseller) -> None:
    """rs:menu (Back)"""
    ctx.edit(_menu_text(reseller), buttons=_menu_buttons(), parse_mode=None)


# --- sub-resellers ------------------------------------------------------------------------------------

def _sub_usage() -> str:
    return _("To invite a customer of the shop as your sub-reseller, send\n/sub_reseller <telegram id or @username> "
             "<markup %>\ne.g. /sub_reseller @ali 10 — they buy at your price plus 10%.")


@as_reseller
def sub_resellers(ctx: BotContext, reseller) -> None:
    """rs:subs"""
    rows = menu.sub_resellers_figures(reseller=reseller)
    lines = [_("👥 Your sub-resellers"), ""]
    if not rows:
        lines.append(_("You have no sub-resellers yet."))
    for sub, figures in rows:
        lines.append(_("• %(name)s — this month: %(count)s accounts, %(amount)s") % {
            "name": sub.customer, "count": figures.accounts_bought + figures.renewals,
            "amount": money(figures.spent_amount)})
    lines += ["", _sub_usage()]
    ctx.edit("\n".join(lines), buttons=[back_to_menu()], parse_mode=None)


@as_reseller
def sub_reseller_command(ctx: BotContext, reseller) -> None:
    """/sub_reseller <telegram id or @username> <markup %>"""
    if len(ctx.args) != 2:
        ctx.reply(_sub_usage(), parse_mode=None)
        return
    try:
        markup_bp = menu.parse_percent_bp(ctx.args[1])
    except services.ResellerError as exc:
        ctx.reply(str(exc) + "\n\n" + _sub_usage(), parse_mode=None)
        return
    sub = menu.sub_reseller_add(parent=reseller, query=ctx.args[0], markup_bp=markup_bp)
    ctx.reply(_("✅ %(name)s is now your sub-reseller, at your price plus %(markup)s%%. They were told in the bot.")
              % {"name": sub.customer, "markup": f"{markup_bp / 100:g}"}, parse_mode=None)


# --- this month ---------------------------------------------------------------------------------------

@as_reseller
def this_month(ctx: BotContext, reseller) -> None:
    """rs:month"""
    figures = menu.month_figures(reseller=reseller)
    lines = [_("📊 This month"), "",
             _("Accounts bought: %(count)s") % {"count": figures.accounts_bought},
             _("Renewals: %(count)s") % {"count": figures.renewals},
             _("Spent: %(amount)s") % {"amount": money(figures.spent_amount)},
             _("Commission earned: %(amount)s") % {"amount": money(figures.commission_amount)},
             _("Sub-resellers' purchases: %(amount)s") % {"amount": money(figures.sub_reseller_sales_amount)}]
    ctx.edit("\n".join(lines), buttons=[back_to_menu()], parse_mode=None)


# --- API tokens ---------------------------------------------------------------------------------------

def _api_view(ctx: BotContext, reseller, note: str = "") -> None:
    tokens = menu.tokens_active(reseller_id=reseller.pk)
    lines = ([escape(note), ""] if note else []) + [
        _("🔑 The reseller API"), "",
        _("Your website or app can buy, renew and list your accounts through the shop's API: "
          "<code>/api/v1/reseller/…</code> with the header <code>Authorization: Token &lt;key&gt;</code>."), ""]
    if tokens:
        lines.append(_("Your tokens:"))
        never = _("never")
        for token in tokens:
            lines.append(_("• <code>%(prefix)s…</code> %(name)s — last used: %(used)s") % {
                "prefix": escape(token.prefix), "name": escape(token.name),
                "used": format_date(token.last_used_at, ctx.customer) if token.last_used_at else never})
    else:
        lines.append(_("You have no API token yet."))
    buttons = [[(_("➕ New token"), "rs:tnew")]]
    buttons += [[(_("🗑 Revoke %(prefix)s…") % {"prefix": token.prefix}, f"rs:trev:{token.pk}")] for token in tokens]
    buttons.append(back_to_menu())
    ctx.edit("\n".join(lines), buttons=buttons)


@as_reseller
def api_tokens(ctx: BotContext, reseller) -> None:
    """rs:api"""
    _api_view(ctx, reseller)


@as_reseller
def token_new(ctx: BotContext, reseller) -> None:
    """rs:tnew: are you sure?"""
    ctx.edit(_("Make a new API token? Its key is shown once: store it somewhere safe."),
             buttons=[[(_("✅ Yes, make a token"), "rs:tok")], [(_("✖️ Cancel"), "rs:api")]], parse_mode=None)


@as_reseller
def token_made(ctx: BotContext, reseller) -> None:
    """rs:tok"""
    _token, key = services.token_create(reseller_id=reseller.pk, name=_("made in the bot"))
    ctx.edit(_("🔑 Your new API key:\n<code>%(key)s</code>\n\nStore it now: it is not shown again. Send it as "
               "<code>Authorization: Token %(key)s</code>.") % {"key": escape(key)},
             buttons=[[(_("⬅️ Back"), "rs:api")]])


@as_reseller
def token_revoked(ctx: BotContext, reseller) -> None:
    """rs:trev:<token>"""
    try:
        token = services.token_revoke(token_id=int(ctx.match.group(1)), reseller_id=reseller.pk)
    except services.ResellerError:
        say(ctx, _("Not found."))
        return
    _api_view(ctx, reseller, note=_("Token %(prefix)s… revoked: it no longer works.") % {"prefix": token.prefix})
