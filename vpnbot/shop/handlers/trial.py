"""/trial in the bot: the customer's one free trial (TRIAL_ENABLED; refused politely when off,
when it was had, or when its plan is not sold on a panel). The link follows when it is ready."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.translation import gettext as _

from vpnbot.transport.bot import BotContext, Feature

from .. import services
from ..services import ShopError

TRIAL_FEATURE = Feature.setting("TRIAL_ENABLED", off_text=lambda: _("Free trials are not offered right now. See /plans."))


def trial(ctx: BotContext) -> None:
    try:
        subscription = services.trial_start(customer_id=ctx.customer.pk)
    except ShopError as exc:
        ctx.reply(str(exc), parse_mode=None)
        return
    gb = services.trial_traffic_gb()
    traffic = _("unlimited traffic") if not gb else _("%(gb)s GB of traffic") % {"gb": gb}
    ctx.reply(_("🎁 Your free trial of %(plan)s has started: %(days)s day(s) and %(traffic)s.")
              % {"plan": escape(subscription.plan.name), "days": services.trial_days(), "traffic": traffic})
