"""The CRM's customer commands: /my_profile, /my_offers, /my_insights, and the button of a
campaign message (which shows the recipient's offer)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop.formatting import format_date, money
from vpnbot.transport.bot import BotContext

from .. import selectors, services
from ..models import PersonalizedOffer, Segment


def my_profile(ctx: BotContext) -> None:
    profile = selectors.profile_for(ctx.customer)
    lines = [_("👤 Your profile"),
             _("Member since: %(date)s") % {"date": format_date(ctx.customer.joined_at, ctx.customer)}]
    if profile is None or profile.frequency == 0:
        lines.append(_("No purchases yet. See /plans to start."))
        ctx.reply("\n".join(lines), parse_mode=None)
        return
    lines += [
        _("Orders: %(n)s · Total spent: %(amount)s") % {"n": profile.frequency, "amount": money(profile.monetary_amount)},
        _("Average order: %(amount)s") % {"amount": money(profile.average_order_amount)},
    ]
    if profile.favourite_plan:
        lines.append(_("Favourite plan: %(plan)s") % {"plan": profile.favourite_plan.name})
    if profile.active_until:
        lines.append(_("Active until: %(date)s") % {"date": format_date(profile.active_until, ctx.customer)})
    if profile.segment == Segment.VIP:
        lines.append(_("⭐ You are one of our VIP customers."))
    offers = selectors.offers_for(customer=ctx.customer)
    if offers:
        lines.append(_("🎁 You have %(n)s offer(s): /my_offers") % {"n": len(offers)})
    ctx.reply("\n".join(lines), parse_mode=None)


def offer_line(offer: PersonalizedOffer, customer) -> str:
    until = format_date(offer.valid_until, customer)
    percent = f"{offer.percent_bp / 100:g}"
    if offer.kind == PersonalizedOffer.Kind.VIP_CASHBACK:
        return _("💎 %(percent)s%% cashback on your purchases until %(date)s") % {"percent": percent, "date": until}
    return _("🎟 %(percent)s%% off with code %(code)s, until %(date)s") % {"percent": percent, "code": offer.code,
                                                                         "date": until}


def my_offers(ctx: BotContext) -> None:
    offers = selectors.offers_for(customer=ctx.customer)
    if not offers:
        ctx.reply(_("You have no offers right now. We will let you know when one comes."))
        return
    lines, buttons = [_("🎁 Your offers:")], []
    for offer in offers:
        lines.append(offer_line(offer, ctx.customer))
        action = services.offer_buy_action(offer)
        if action:
            buttons.append([(_("🛒 Buy %(plan)s with %(code)s") % {"plan": offer.plan.name, "code": offer.code}, action)])
        elif offer.code:
            lines.append(_("To use it, send /buy %(code)s and choose a plan.") % {"code": offer.code})
    ctx.reply("\n".join(lines), buttons=buttons or None, parse_mode=None)


def my_insights(ctx: BotContext) -> None:
    insights = selectors.insights_for(customer=ctx.customer, limit=5)
    if not insights:
        ctx.reply(_("Nothing to tell you yet. Check back after a purchase or two."))
        return
    ctx.reply("\n".join([_("💡 About you:")] + ["• " + services.insight_text(i) for i in insights]), parse_mode=None)


def campaign_pressed(ctx: BotContext) -> None:
    """crm:c:<recipient id>: counted once (nothing is recorded while the CRM is off)."""
    recipient = services.recipient_press(recipient_id=int(ctx.match.group(1)), customer=ctx.customer)
    if recipient is None:
        ctx.answer(_("This button is no longer valid."), alert=True)
        return
    ctx.answer()
    offer = recipient.offer
    if offer and offer.status == PersonalizedOffer.Status.ACTIVE and offer.valid_until > timezone.now():
        action = services.offer_buy_action(offer)
        if action:
            ctx.reply(offer_line(offer, ctx.customer), buttons=[[(_("🛒 Buy %(plan)s") % {"plan": offer.plan.name}, action)]],
                      parse_mode=None)
        else:
            ctx.reply(offer_line(offer, ctx.customer) + "\n" + _("To use it, send /buy %(code)s and choose a plan.")
                      % {"code": offer.code}, parse_mode=None)
        return
    ctx.reply(_("See our plans with /plans."), parse_mode=None)
