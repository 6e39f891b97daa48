"""A reseller buys accounts in the bot: rs:buy (the plans at their price), rs:p:<plan> (how
many: buttons or a typed number), rs:q:<plan>:<n>, then the labels (a dialog; /skip), then a
confirmation kept on the server (the dialog's state: labels do not fit in callback_data) with
rs:pay:<key> (the purchase's idempotency key) and rs:cancel; rs:file:<purchase> sends the
configs file of a bulk purchase now."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.shop.formatting import money
from vpnbot.shop.services import InsufficientBalance, QuoteChanged
from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext

from .. import selectors, services
from ..services import menu
from .common import MAX_LINES, as_reseller, back_to_menu, say, short_of_money

QTY, LABELS, CONFIRM = "rs_qty", "rs_labels", "rs_confirm"


@as_reseller
def buy(ctx: BotContext, reseller) -> None:
    """rs:buy: the plans this reseller may sell, at their price."""
    menu.reseller_can_buy(reseller_id=reseller.pk)
    plans = menu.plans_for_sale(reseller=reseller)
    if not plans:
        say(ctx, _("There is no plan you may sell right now. Please contact the shop."))
        return
    rows = [[(_("%(plan)s — %(amount)s each") % {"plan": plan.name, "amount": money(unit)}, f"rs:p:{plan.pk}")]
            for plan, unit in plans]
    ctx.edit(_("🛒 Which plan?"), buttons=[*rows, back_to_menu()], parse_mode=None)


@as_reseller
def buy_plan(ctx: BotContext, reseller) -> None:
    """rs:p:<plan>: how many?"""
    plan, unit = menu.plan_for_sale(reseller=reseller, plan_id=ctx.match.group(1))
    quantities = menu.quantities_offered()
    dialog.dialog_start(user_id=ctx.user_id, name=QTY, data={"plan": plan.pk})
    ctx.edit(_("%(plan)s: %(amount)s per account.\nHow many accounts? Choose, or type a number from 1 to %(max)s.")
             % {"plan": plan.name, "amount": money(unit), "max": settings.RESELLER_MAX_BULK},
             buttons=[[(str(n), f"rs:q:{plan.pk}:{n}") for n in quantities], [(_("⬅️ Back"), "rs:buy")]],
             parse_mode=None)


@as_reseller
def buy_quantity(ctx: BotContext, reseller) -> None:
    """rs:q:<plan>:<n>"""
    _ask_labels(ctx, reseller, ctx.match.group(1), ctx.match.group(2))


@dialog.step(QTY)
@as_reseller
def receive_quantity(ctx: BotContext, reseller, data: dict) -> None:
    """A typed number of accounts."""
    try:
        _ask_labels(ctx, reseller, data.get("plan"), ctx.text)
    except services.ResellerError as exc:
        ctx.reply(str(exc) + "\n" + _("How many accounts? /cancel to stop."), parse_mode=None)


def _ask_labels(ctx: BotContext, reseller, plan_id, quantity_text) -> None:
    quantity = menu.parse_quantity(quantity_text)
    plan, _unit = menu.plan_for_sale(reseller=reseller, plan_id=plan_id)
    dialog.dialog_start(user_id=ctx.user_id, name=LABELS, data={"plan": plan.pk, "quantity": quantity})
    text = _("%(n)s × %(plan)s.\nLabels (your names for the accounts, e.g. your customers' names): send one label per "
             "line (one per account), or one label to number them (Ali 1, Ali 2…), or /skip.") % {
        "n": quantity, "plan": plan.name}
    if ctx.callback:
        ctx.edit(text, parse_mode=None)
    else:
        ctx.reply(text, parse_mode=None)


@dialog.step(LABELS)
@as_reseller
def receive_labels(ctx: BotContext, reseller, data: dict) -> None:
    """The labels: one per line, or one to number them."""
    if not ctx.text:
        ctx.reply(_("Please send the labels as text, or /skip."), parse_mode=None)
        return
    try:
        labels = menu.parse_labels(ctx.text, int(data.get("quantity", 0)))
    except services.ResellerError as exc:
        ctx.reply(str(exc) + "\n" + _("Send the labels again, or /skip. /cancel to stop."), parse_mode=None)
        return
    _confirm(ctx, reseller, int(data["plan"]), int(data["quantity"]), labels)


@as_reseller
def skip(ctx: BotContext, reseller) -> None:
    """/skip while the labels are asked: the accounts are numbered by the date."""
    state = dialog.dialog_get(user_id=ctx.user_id)
    if not state or state[0] != LABELS:
        ctx.reply(_("There is nothing to skip."), parse_mode=None)
        return
    data = state[1]
    quantity = int(data["quantity"])
    _confirm(ctx, reseller, int(data["plan"]), quantity, services.labels_for(None, quantity))


def _labels_line(labels: list[str]) -> str:
    shown = labels if len(labels) <= 4 else [*labels[:3], "…", labels[-1]]
    return _("Labels: %(labels)s") % {"labels": ", ".join(shown)}


def _confirm(ctx: BotContext, reseller, plan_id: int, quantity: int, labels: list[str], *, key: str = "",
             note: str = "") -> None:
    """The confirmation: kept in the dialog's state under a new key (the Pay button's)."""
    plan, unit = menu.plan_for_sale(reseller=reseller, plan_id=plan_id)
    key = key or secrets.token_hex(6)
    total = unit * quantity
    dialog.dialog_start(user_id=ctx.user_id, name=CONFIRM, data={
        "plan": plan.pk, "quantity": quantity, "labels": labels, "key": key, "total": total})
    overview = menu.reseller_overview(reseller=reseller)
    lines = ([note, ""] if note else []) + [
        _("🧾 %(n)s × %(plan)s") % {"n": quantity, "plan": plan.name},
        _("%(n)s × %(unit)s = %(total)s") % {"n": quantity, "unit": money(unit), "total": money(total)},
        _labels_line(labels), "",
        _("Balance: %(amount)s") % {"amount": money(overview.balance_amount)},
        _("Available to spend (balance + credit limit): %(amount)s") % {"amount": money(overview.available_amount)}]
    buttons = [[(_("✅ Pay %(amount)s") % {"amount": money(total)}, f"rs:pay:{key}")], [(_("✖️ Cancel"), "rs:cancel")]]
    if ctx.callback:
        ctx.edit("\n".join(lines), buttons=buttons, parse_mode=None)
    else:
        ctx.reply("\n".join(lines), buttons=buttons, parse_mode=None)


@as_reseller
def pay(ctx: BotContext, reseller) -> None:
    """rs:pay:<key>: buy once per key, with the labels kept in the dialog's state."""
    key = ctx.match.group(1)
    idempotency_key = f"tg:{ctx.user_id}:{key}"
    state = dialog.dialog_get(user_id=ctx.user_id)
    if not state or state[0] != CONFIRM or state[1].get("key") != key:
        if menu.purchase_find(reseller_id=reseller.pk, idempotency_key=idempotency_key):
            ctx.answer(_("This purchase is already done."), alert=True)
        else:
            ctx.answer()
            ctx.edit(_("This confirmation has expired, nothing was bought. Please start again with /reseller."),
                     parse_mode=None)
        return
    data = state[1]
    try:
        purchase = services.reseller_buy(reseller_id=reseller.pk, plan_id=data["plan"], quantity=data["quantity"],
                                         labels=data["labels"], idempotency_key=idempotency_key,
                                         expected_total=int(data["total"]))
    except InsufficientBalance as exc:
        short_of_money(ctx, exc.missing, _("Your wallet and credit are short by %(amount)s: nothing was bought. Top "
                                           "up with /topup, then press Pay again."), (_("✖️ Cancel"), "rs:cancel"))
        return
    except QuoteChanged:
        _confirm(ctx, reseller, int(data["plan"]), int(data["quantity"]), list(data["labels"]), key=key,
                 note=_("The price changed since you saw it."))
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    if not purchase.created:
        ctx.answer(_("This purchase is already done."), alert=True)
        return
    ctx.edit(_purchase_text(purchase), parse_mode=None, buttons=_purchase_buttons(purchase))


def _purchase_text(purchase) -> str:
    batch = purchase.batch
    lines = [_("✅ Bought %(n)s × %(plan)s for %(amount)s (purchase #%(id)s):") % {
        "n": batch.quantity, "plan": batch.plan.name, "amount": money(batch.total_amount), "id": batch.pk}]
    for account in purchase.accounts[:MAX_LINES]:
        lines.append(f"#{account.pk} — {account.label}")
    if len(purchase.accounts) > MAX_LINES:
        lines.append(_("… and %(n)s more (see My accounts).") % {"n": len(purchase.accounts) - MAX_LINES})
    lines.append("")
    lines.append(_("Each account's config comes here as soon as it is ready."))
    if batch.quantity >= 2:
        lines.append(_("Then one file with all the configs follows; the button below sends it now."))
    return "\n".join(lines)


def _purchase_buttons(purchase) -> list:
    rows = []
    if purchase.batch.quantity >= 2:
        rows.append([(_("📄 Configs file"), f"rs:file:{purchase.batch.pk}")])
    rows.append([(_("📋 My accounts"), "rs:accs:1"), (_("⬅️ Menu"), "rs:menu")])
    return rows


def cancel(ctx: BotContext) -> None:
    """rs:cancel"""
    dialog.dialog_clear(user_id=ctx.user_id)
    ctx.edit(_("Purchase cancelled."), parse_mode=None)


@as_reseller
def batch_file(ctx: BotContext, reseller) -> None:
    """rs:file:<purchase>: the configs of the reseller's own purchase as a file, now."""
    batch = selectors.batch_of(reseller.pk, int(ctx.match.group(1)))
    if batch is None:
        say(ctx, _("Not found."))
        return
    name, content = services.batch_file(batch=batch)
    ctx.answer()
    ctx.reply_document(name, content, caption=_("📦 The configs of purchase #%(id)s (%(n)s × %(plan)s).") % {
        "id": batch.pk, "n": batch.quantity, "plan": batch.plan.name})
