"""Payments in the bot: the Stars `successful_payment` message (credited once; the customer's
"received" message comes from the service) and the "cancel this payment" button (pym:x:<id>).
The Stars pre-checkout question is answered on the webhook's fast path (services.stars)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.transport.bot import BotContext, add_callback, handler

from . import services
from .services.stars import stars_successful_payment


def successful_payment(ctx: BotContext) -> None:
    paid = ctx.message.successful_payment
    applied = stars_successful_payment(telegram_user_id=ctx.user_id, successful_payment=paid.to_dict())
    if applied is None:
        ctx.reply(_("This payment is not one the shop knows; an admin will look at it."))


def cancel_payment(ctx: BotContext) -> None:
    payment_id = int(ctx.match.group(1))
    try:
        services.payment_cancel(payment_id=payment_id, customer_id=ctx.customer.pk)
    except services.PaymentsError as exc:
        ctx.answer(str(exc), alert=True)
        return
    ctx.edit(_("Payment #%(id)s cancelled. If you had already paid, the money still reaches your wallet.")
             % {"id": payment_id}, parse_mode=None)


def register(application) -> None:
    from telegram.ext import MessageHandler, filters  # PTB loads only where an Application is built

    application.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, handler(successful_payment)))
    add_callback(application, r"^pym:x:(\d{1,12})$", cancel_payment)
