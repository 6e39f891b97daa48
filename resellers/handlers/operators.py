"""The operators' reseller commands (admins only): /resellers (who sells, with their wallet
and accounts running), /add_reseller <telegram id or @username> <discount %> [credit limit],
/remove_reseller <telegram id or @username> (asks first: rs:rm:<reseller>, rs:rmno)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.shop.formatting import money
from vpnbot.transport.bot import BotContext

from ..services import ResellerError, menu
from .common import refusals_shown


@refusals_shown
def resellers_list(ctx: BotContext) -> None:
    """/resellers"""
    rows, total = menu.resellers_overview()
    if not rows:
        ctx.reply(_("There are no resellers yet. Promote a customer with /add_reseller."), parse_mode=None)
        return
    lines = [_("🤝 Resellers (%(n)s)") % {"n": total}, ""]
    for reseller, running in rows:
        customer = reseller.customer
        lines.append(_("• %(name)s (%(tg)s)%(frozen)s — balance %(balance)s, credit used %(used)s of %(limit)s, "
                       "%(running)s accounts running") % {
            "name": customer, "tg": customer.telegram_id, "frozen": " ❄️" if reseller.is_frozen else "",
            "balance": money(customer.balance_amount), "used": money(max(-customer.balance_amount, 0)),
            "limit": money(customer.credit_limit_amount), "running": running})
    if total > len(rows):
        lines.append(_("… and %(n)s more: see the admin.") % {"n": total - len(rows)})
    ctx.reply("\n".join(lines), parse_mode=None)


def _add_usage() -> str:
    return _("Usage: /add_reseller <telegram id or @username> <discount %> [credit limit]\n"
             "e.g. /add_reseller @ali 15 2000000")


@refusals_shown
def add_reseller(ctx: BotContext) -> None:
    """/add_reseller <telegram id or @username> <discount %> [credit limit]"""
    if len(ctx.args) not in (2, 3):
        ctx.reply(_add_usage(), parse_mode=None)
        return
    try:
        discount_bp = menu.parse_percent_bp(ctx.args[1])
        credit = menu.parse_amount(ctx.args[2]) if len(ctx.args) == 3 else 0
        reseller = menu.reseller_add(query=ctx.args[0], discount_bp=discount_bp, credit_limit_amount=credit,
                                     by=ctx.actor)
    except ResellerError as exc:
        ctx.reply(str(exc) + "\n\n" + _add_usage(), parse_mode=None)
        return
    ctx.reply(_("✅ %(name)s is a reseller now: %(discount)s%% off, credit limit %(credit)s. They were told in the bot.")
              % {"name": reseller.customer, "discount": f"{discount_bp / 100:g}", "credit": money(credit)},
              parse_mode=None)


@refusals_shown
def remove_reseller(ctx: BotContext) -> None:
    """/remove_reseller <telegram id or @username>: are you sure?"""
    if len(ctx.args) != 1:
        ctx.reply(_("Usage: /remove_reseller <telegram id or @username>"), parse_mode=None)
        return
    reseller = menu.reseller_to_remove(query=ctx.args[0])
    ctx.reply(_("Remove %(name)s as a reseller? They can no longer buy or renew as one and their API tokens stop "
                "working; their accounts keep running until they end.") % {"name": reseller.customer},
              parse_mode=None, buttons=[[(_("✅ Yes, remove"), f"rs:rm:{reseller.pk}")], [(_("✖️ Cancel"), "rs:rmno")]])


@refusals_shown
def remove_confirmed(ctx: BotContext) -> None:
    """rs:rm:<reseller>"""
    reseller = menu.reseller_remove(reseller_id=int(ctx.match.group(1)), by=ctx.actor)
    ctx.edit(_("✅ %(name)s is no longer a reseller.") % {"name": reseller.customer}, parse_mode=None)


def remove_cancelled(ctx: BotContext) -> None:
    """rs:rmno"""
    ctx.edit(_("Nothing changed."), parse_mode=None)
