"""Paying online in the bot (the methods of vpnbot.shop.paymethods): after /topup's amount the
customer picks a method (the card receipt or an enabled online one: tpm:<method>:<amount>),
and at checkout with a short wallet they can pay the order's total now
(bpm:<method>:<plan>:<qty>:<total>:<key>[+]): the order is placed once the money arrives."""

from __future__ import annotations

from django.utils.translation import gettext as _

from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext

from .. import paymethods, services
from ..formatting import money
from .buying import _CODE

TOPUP_METHOD_PATTERN = r"^tpm:([a-z]{1,16}):(\d{1,15})$"
ORDER_METHOD_PATTERN = rf"^bpm:([a-z]{{1,16}}):(\d{{1,9}}):(\d{{1,2}}):(\d{{1,15}}):([0-9a-f]{{8}})(\+|:{_CODE})?$"


def topup_method_buttons(amount: int) -> list:
    rows = [[(_("🧾 Card transfer and receipt"), f"tpm:{paymethods.CARD}:{amount}")]]
    rows += [[(method.label(), f"tpm:{method.key}:{amount}")] for method in paymethods.online_methods()]
    return rows


def order_method_buttons(*, plan_id, quantity, total: int, key: str, suffix: str) -> list:
    return [[(_("Pay %(amount)s now: %(method)s") % {"amount": money(total), "method": method.label()},
              f"bpm:{method.key}:{plan_id}:{quantity}:{total}:{key}{suffix}")]
            for method in paymethods.online_methods(for_order=True)]


def _show(ctx: BotContext, started: paymethods.Started) -> None:
    rows = []
    if started.url:
        rows.append([(started.url_label or _("💳 Pay"), f"url:{started.url}")])
    if started.cancel_data:
        rows.append([(_("✖️ Cancel this payment"), started.cancel_data)])
    ctx.reply(started.text, buttons=rows or None, parse_mode=None)


def topup_method(ctx: BotContext) -> None:
    key, amount_text = ctx.match.groups()
    try:
        amount = services.topup_parse_amount(amount_text)
    except services.ShopError as exc:
        ctx.answer(str(exc), alert=True)
        return
    if key == paymethods.CARD:
        from .wallet import ask_receipt

        ctx.answer()
        ask_receipt(ctx, amount)
        return
    method = paymethods.method_get(key)
    if method is None:
        ctx.answer(_("This payment method is not available right now."), alert=True)
        return
    try:
        started = method.start(customer=ctx.customer, amount=amount)
    except paymethods.MethodUnavailable as exc:
        ctx.answer(str(exc), alert=True)
        return
    ctx.answer()
    dialog.dialog_clear(user_id=ctx.user_id)
    _show(ctx, started)


def order_method(ctx: BotContext) -> None:
    key, plan_id, quantity, total, confirmation, suffix = ctx.match.groups()
    method = paymethods.method_get(key)
    if method is None:
        ctx.answer(_("This payment method is not available right now."), alert=True)
        return
    if suffix == "+":
        code = services.checkout_code_get(customer_id=ctx.customer.pk, key=confirmation)
    else:
        code = suffix[1:] if suffix else ""
    purchase = paymethods.Purchase(plan_id=int(plan_id), quantity=int(quantity), expected_total=int(total), code=code)
    try:
        started = method.start(customer=ctx.customer, amount=int(total), purchase=purchase)
    except (paymethods.MethodUnavailable, services.ShopError) as exc:
        ctx.answer(str(exc), alert=True)
        return
    ctx.answer()
    _show(ctx, started)
