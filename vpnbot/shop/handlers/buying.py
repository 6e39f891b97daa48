"""Buying in the bot: /plans (with an optional discount code) and /buy, then one handler per
button of the flow: a plan (buy:p), a quantity (buy:q), pay (buy:ok) or cancel (buy:cancel)."""

from __future__ import annotations

import functools
import re
import secrets

from django.utils.translation import gettext as _

from vpnbot.transport.bot import BotContext

from .. import selectors, services
from ..formatting import format_date, money, plan_line, quote_text
from ..services import ShopError

_CODE = r"[A-Za-z0-9_-]{1,32}"  # a discount code as it travels in callback_data
CODE = re.compile(_CODE)
# buy:p:<plan>[:code] -> the quantities
PLAN_PATTERN = rf"^buy:p:(\d{{1,9}})(?::({_CODE}))?$"
# buy:q:<plan>:<qty>[:code] -> the confirmation
QUANTITY_PATTERN = rf"^buy:q:(\d{{1,9}}):(\d{{1,2}})(?::({_CODE}))?$"
# buy:ok:<plan>:<qty>:<total>:<key>[+] -> pay ("+": with the code kept on the server for this key;
# buttons sent before that still end in ":<code>")
PAY_PATTERN = rf"^buy:ok:(\d{{1,9}}):(\d{{1,2}}):(\d{{1,15}}):([0-9a-f]{{8}})(\+|:{_CODE})?$"


def plans(ctx: BotContext) -> None:
    active = selectors.plan_list_active()
    if not active:
        ctx.reply(_("No plans are on sale right now. Please check back later."))
        return
    code = ctx.args[0] if ctx.args else ""
    lines = [_("Our plans:")] + [f"• {plan_line(p)}" for p in active]
    if code and not CODE.fullmatch(code):  # it would break the buttons' callback_data (ASCII, 64 bytes)
        lines.insert(0, _("A discount code is up to 32 Latin letters, digits, - or _; showing the plans without it.") + "\n")
        code = ""
    buttons = [[(p.name, f"buy:p:{p.pk}:{code}" if code else f"buy:p:{p.pk}")] for p in active]
    ctx.reply("\n".join(lines), buttons=buttons, parse_mode=None)


def buy(ctx: BotContext) -> None:
    plans(ctx)


def refusals_answered(fn):
    """A ShopError of the flow (a plan gone, a confirmation expired) is answered as an alert."""

    @functools.wraps(fn)
    def wrapper(ctx: BotContext) -> None:
        try:
            fn(ctx)
        except ShopError as exc:
            ctx.answer(str(exc), alert=True)

    return wrapper


@refusals_answered
def buy_plan(ctx: BotContext) -> None:
    plan = services.plan_get_active(ctx.match.group(1))
    code = ctx.match.group(2) or ""
    suffix = f":{code}" if code else ""
    quantities = services.quantities_for(plan)  # at most MAX_ORDER_DAYS in one order
    rows = [[(_("%(n)s × %(days)s days") % {"n": q, "days": plan.duration_days}, f"buy:q:{plan.pk}:{q}{suffix}")
             for q in quantities[i:i + 2]] for i in range(0, len(quantities), 2)]
    ctx.edit(_("%(plan)s\nHow many periods?") % {"plan": plan_line(plan)}, buttons=rows, parse_mode=None)


@refusals_answered
def buy_quantity(ctx: BotContext) -> None:
    plan = services.plan_get_active(ctx.match.group(1))
    quantity = services.validate_quantity(ctx.match.group(2))
    show_confirmation(ctx, plan, quantity, ctx.match.group(3) or "")


def show_confirmation(ctx: BotContext, plan, quantity: int, code: str = "", note: str = "") -> None:
    quote = services.price_quote(ctx.customer, plan, quantity, code=code)
    key = secrets.token_hex(4)
    suffix = ""
    if code:  # a 32-character code would push the Pay button's callback_data over 64 bytes
        services.checkout_code_keep(customer_id=ctx.customer.pk, key=key, code=code)
        suffix = "+"
    if code and not quote.code_applied:
        note = (note + "\n" if note else "") + _("The code %(code)s does not apply to this purchase "
                                                 "(unknown, expired, used up or for other plans).") % {"code": code}
    text = (note + "\n\n" if note else "") + quote_text(plan, quote)
    text += "\n" + _("Wallet balance: %(amount)s") % {"amount": money(ctx.customer.balance_amount)}
    ctx.edit(text, parse_mode=None, buttons=[
        [(_("✅ Pay %(amount)s") % {"amount": money(quote.total_amount)},
          f"buy:ok:{plan.pk}:{quantity}:{quote.total_amount}:{key}{suffix}")],
        [(_("✖️ Cancel"), "buy:cancel")]])


@refusals_answered
def buy_pay(ctx: BotContext) -> None:
    plan_id, quantity, total, key, suffix = ctx.match.groups()
    if suffix == "+":
        code = services.checkout_code_get(customer_id=ctx.customer.pk, key=key)
    else:
        code = suffix[1:] if suffix else ""
    try:
        result = services.order_checkout(customer_id=ctx.customer.pk, plan_id=plan_id, quantity=quantity,
                                         idempotency_key=f"tg:{ctx.user_id}:{key}", code=code, expected_total=int(total))
    except services.InsufficientBalance as exc:
        ctx.answer()
        low, high = services.topup_limits()
        offer = min(max(exc.missing, low), high)  # a top-up /topup accepts
        from .paying import order_method_buttons

        if code and suffix != "+":  # kept on the server: the online buttons have no room for it
            services.checkout_code_keep(customer_id=ctx.customer.pk, key=key, code=code)

        ctx.edit(_("Your wallet is short by %(amount)s. Top up with /topup and try again.") % {"amount": money(exc.missing)},
                 parse_mode=None, buttons=[
                     *order_method_buttons(plan_id=plan_id, quantity=quantity, total=int(total), key=key,
                                           suffix="+" if code else ""),
                     [(_("➕ Top up %(amount)s") % {"amount": money(offer)}, f"topup:{offer}")]])
        return
    except services.QuoteChanged:
        plan = services.plan_get_active(plan_id)
        show_confirmation(ctx, plan, int(quantity), code, note=_("The price changed since you saw it."))
        return
    if not result.created:
        ctx.answer(_("This purchase is already done."))
        return
    order = result.order
    ctx.edit(_("✅ Paid %(amount)s for %(plan)s. Your service runs until %(date)s.\nSee /my_services.")
             % {"amount": money(order.paid_amount), "plan": order.plan.name,
                "date": format_date(order.subscription.expires_at, ctx.customer)}, parse_mode=None)


def buy_cancel(ctx: BotContext) -> None:
    ctx.edit(_("Purchase cancelled."))
