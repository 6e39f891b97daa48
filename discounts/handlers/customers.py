"""The customers' smart-discount commands: what they can get (/available_discounts), their
birth month (/set_birthday and its buttons), and their discount profile (/user_discount_profile)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.shop.formatting import money
from vpnbot.shop.selectors import customer_find
from vpnbot.transport.bot import BotContext

from .. import services
from ..services import DiscountError


def available_discounts(ctx: BotContext) -> None:
    lines = services.available_discounts(customer=ctx.customer)
    if not lines:
        ctx.reply(_("There are no discounts for you right now. Check back soon!"), parse_mode=None)
        return
    ctx.reply(_("🎁 Your discounts:") + "\n" + "\n".join(lines) + "\n\n" + _("Discounts are applied automatically at /buy."),
              parse_mode=None)


def set_birthday(ctx: BotContext) -> None:
    names = services.month_names()
    rows = [[(str(names[m - 1]), f"disc:bd:{m}") for m in range(i, i + 3)] for i in range(1, 13, 3)]
    current = ""
    if ctx.customer.birth_month in range(1, 13):  # a month stored out of bounds (0, 13) shows as unset
        current = "\n" + _("Now: %(month)s") % {"month": names[ctx.customer.birth_month - 1]}
    ctx.reply(_("🎂 Which month is your birthday? You get a discount in that month.") + current, buttons=rows, parse_mode=None)


def birthday_chosen(ctx: BotContext) -> None:
    """disc:bd:<month>"""
    try:
        customer = services.birthday_set(customer=ctx.customer, month=int(ctx.match.group(1)))
    except DiscountError as exc:
        ctx.answer(str(exc), alert=True)
        return
    ctx.answer()
    ctx.edit(_("🎂 Saved: %(month)s. See /available_discounts.") % {
        "month": services.month_names()[customer.birth_month - 1]}, parse_mode=None)


def user_discount_profile(ctx: BotContext) -> None:
    customer = ctx.customer
    if ctx.args:
        if not ctx.is_admin:
            ctx.reply(_("Only admins may look at someone else's profile. Send /user_discount_profile alone for yours."))
            return
        customer = customer_find(ctx.args[0])
        if customer is None:
            ctx.reply(_("No customer found for %(query)s. Give a Telegram id or @username.") % {"query": ctx.args[0][:64]},
                      parse_mode=None)
            return
    profile = services.profile_get(customer=customer)
    lines = [_("🏅 Discount profile of %(who)s") % {"who": customer} if customer != ctx.customer else _("🏅 Your discount profile"),
             _("Level: %(level)s") % {"level": services.level_label(profile.level)},
             _("Lifetime spend: %(amount)s") % {"amount": money(profile.lifetime_spend_amount)},
             _("Total saved with discounts: %(amount)s") % {"amount": money(profile.total_saved_amount)},
             _("Cashback earned: %(amount)s") % {"amount": money(profile.cashback_earned_amount)}]
    upcoming = services.next_level(profile)
    if upcoming:
        name, missing = upcoming
        threshold = dict(services.loyalty_thresholds())[name]
        done = min(10, profile.lifetime_spend_amount * 10 // threshold) if threshold else 10
        lines.append(_("Next level: %(level)s — %(amount)s to go") % {"level": services.level_label(name), "amount": money(missing)})
        lines.append("▰" * done + "▱" * (10 - done))
    else:
        lines.append(_("You are at the top level. Thank you!"))
    ctx.reply("\n".join(lines), parse_mode=None)
