"""The wallet in the bot: /wallet (balance and latest transactions) and the top-up dialog:
/topup or a "Top up" button, the amount, the method when online ones are on (paying.py), then
for the card the photo of the receipt."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext

from .. import paymethods, selectors, services
from ..formatting import format_date, money
from ..services import ShopError


def wallet(ctx: BotContext) -> None:
    customer = selectors.customer_fresh(ctx.customer.pk)
    lines = [_("💰 Balance: %(amount)s") % {"amount": money(customer.balance_amount)}]
    history = selectors.wallet_history(customer=customer)
    if history:
        lines.append(_("Last transactions:"))
        for tx in history:
            lines.append(f"{format_date(tx.created_at, customer)}  {tx.amount:+,}  {tx.get_reason_display()}")
    else:
        lines.append(_("No transactions yet. Top up with /topup."))
    ctx.reply("\n".join(lines), parse_mode=None)


def topup(ctx: BotContext) -> None:
    if ctx.args:
        receive_amount(ctx, {}, text=ctx.args[0])
        return
    dialog.dialog_start(user_id=ctx.user_id, name="topup_amount")
    low, high = services.topup_limits()
    ctx.reply(_("How much do you want to add? Send a whole number between %(min)s and %(max)s.\n/cancel to stop.")
              % {"min": money(low), "max": money(high)}, parse_mode=None)


def topup_button(ctx: BotContext) -> None:
    """topup:<amount>, offered when the wallet is short."""
    receive_amount(ctx, {}, text=ctx.match.group(1))


@dialog.step("topup_amount")
def receive_amount(ctx: BotContext, data: dict, text: str | None = None) -> None:
    text = text if text is not None else ctx.text
    if text is None or (ctx.message and not ctx.callback and not ctx.message.text):
        ctx.reply(_("Please send the amount as a number (not a photo or file)."))
        return
    try:
        amount = services.topup_parse_amount(text)
    except ShopError as exc:
        dialog.dialog_start(user_id=ctx.user_id, name="topup_amount")
        ctx.reply(str(exc) + "\n" + _("How much do you want to add?"), parse_mode=None)
        return
    if paymethods.online_methods():  # more than the card: the customer picks
        dialog.dialog_clear(user_id=ctx.user_id)
        from .paying import topup_method_buttons

        ctx.reply(_("How do you want to pay %(amount)s?") % {"amount": money(amount)}, parse_mode=None,
                  buttons=topup_method_buttons(amount))
        return
    ask_receipt(ctx, amount)


def topup_by_card(ctx: BotContext, text: str) -> None:
    """A card top-up of an amount chosen elsewhere (the Mini App's deep link): the card, then the
    photo of the receipt; an amount out of the limits is asked again as /topup asks it."""
    try:
        amount = services.topup_parse_amount(text)
    except ShopError as exc:
        dialog.dialog_start(user_id=ctx.user_id, name="topup_amount")
        ctx.reply(str(exc) + "\n" + _("How much do you want to add?"), parse_mode=None)
        return
    ask_receipt(ctx, amount)


def ask_receipt(ctx: BotContext, amount: int) -> None:
    """The card method: the shop's card, then the photo of the receipt."""
    dialog.dialog_start(user_id=ctx.user_id, name="topup_receipt", data={"amount": amount})
    card = ""
    if settings.PAYMENT_CARD_NUMBER:
        card = "\n" + _("Card: %(card)s (%(holder)s)") % {"card": settings.PAYMENT_CARD_NUMBER,
                                                         "holder": settings.PAYMENT_CARD_HOLDER}
    ctx.reply(_("Transfer %(amount)s to the shop's card, then send a photo of the receipt here.") % {"amount": money(amount)}
              + card + "\n/cancel", parse_mode=None)


@dialog.step("topup_receipt")
def receive_receipt(ctx: BotContext, data: dict) -> None:
    photos = ctx.message.photo if ctx.message else None
    if not photos:
        ctx.reply(_("Please send the receipt as a photo. /cancel to stop."))
        return
    amount = int(data.get("amount", 0))
    try:
        payment = services.payment_submit(customer=ctx.customer, amount=amount, receipt_file_id=photos[-1].file_id,
                                          receipt_unique_id=photos[-1].file_unique_id or "")
    except ShopError as exc:
        dialog.dialog_clear(user_id=ctx.user_id)
        ctx.reply(str(exc))
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    ctx.reply(_("Thank you! Your receipt #%(id)s for %(amount)s is being reviewed. You will get a message when it is decided.")
              % {"id": payment.pk, "amount": money(amount)}, parse_mode=None)
