"""What every reseller handler shares: the feature switch, the refusal for anyone who is not an
active reseller, refusals shown as they are, and a few texts."""

from __future__ import annotations

import functools

from django.utils.translation import gettext as _

from vpnbot.shop.formatting import money
from vpnbot.shop.services import ShopError, topup_limits
from vpnbot.transport.bot import BotContext, Feature

from .. import selectors

FEATURE = Feature.setting("ENABLE_RESELLERS", off_text=lambda: _("Resellers are not available in this shop."))
MAX_ALERT = 200  # Telegram's limit for an answerCallbackQuery text
MAX_LINES = 40  # accounts listed after a purchase (the rest are in the file and in My accounts)


def refusal() -> str:
    return _("You are not a reseller of this shop. If you want to sell our services, please ask the shop.")


def say(ctx: BotContext, text: str) -> None:
    """A short refusal: an alert on a button (a message when too long for one), a reply to a message."""
    if ctx.callback and len(text) <= MAX_ALERT:
        ctx.answer(text, alert=True)
        return
    ctx.answer()
    ctx.reply(text, parse_mode=None)


def short_of_money(ctx: BotContext, missing: int, text: str, back: tuple[str, str]) -> None:
    """Replace a confirmation whose purchase the wallet and credit cannot cover: `text` (with
    %(amount)s for what is missing), a Top up button for that much (within the top-up limits)
    and `back` (label, callback data)."""
    low, high = topup_limits()
    offer = min(max(missing, low), high)
    ctx.answer()
    ctx.edit(text % {"amount": money(missing)}, parse_mode=None,
             buttons=[[(_("➕ Top up %(amount)s") % {"amount": money(offer)}, f"topup:{offer}")], [back]])


def as_reseller(fn):
    """Run fn(ctx, reseller[, data]) for an active reseller; anyone else gets the refusal and nothing
    happens. A refusal of the services (ResellerError, a plan gone) is shown as it is."""

    @functools.wraps(fn)
    def wrapper(ctx: BotContext, *args) -> None:  # args: a dialog step's data
        if not FEATURE.enabled():  # a dialog step runs outside the switched handlers
            say(ctx, FEATURE.off_text())
            return
        reseller = selectors.reseller_for_customer(ctx.customer)
        if reseller is None:
            say(ctx, refusal())
            return
        try:
            fn(ctx, reseller, *args)
        except ShopError as exc:
            say(ctx, str(exc))

    return wrapper


def refusals_shown(fn):
    """An operator's command: a refusal of the services is replied as it is."""

    @functools.wraps(fn)
    def wrapper(ctx: BotContext) -> None:
        try:
            fn(ctx)
        except ShopError as exc:
            say(ctx, str(exc))

    return wrapper


def back_to_menu() -> list[tuple[str, str]]:
    return [(_("⬅️ Back"), "rs:menu")]

