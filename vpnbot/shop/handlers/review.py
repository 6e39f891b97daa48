"""The admins' review of a top-up receipt in the bot: Approve (pay:ok:<id>) credits the wallet,
Reject (pay:no:<id>) asks for the reason the customer will read, then rejects. A receipt the
risk checks hold asks for a second confirmation (pay:okc:<id>) before it is approved."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.translation import gettext as _

from vpnbot.transport import dialog
from vpnbot.transport.bot import BotContext, inline_keyboard

from .. import selectors, services
from ..formatting import money
from ..models import Payment
from ..services import RiskHeld, ShopError


def _payment(ctx: BotContext) -> Payment | None:
    """The payment of the pressed button (group 1), or None, answered, when there is none."""
    payment = selectors.payment_get(int(ctx.match.group(1)))
    if payment is None:
        ctx.answer(_("This top-up does not exist."), alert=True)
    return payment


def _answer_already_decided(ctx: BotContext, payment: Payment) -> None:
    ctx.answer(_("Already %(status)s by %(who)s.") % {"status": payment.get_status_display(), "who": payment.reviewer},
               alert=True)


def review_approve(ctx: BotContext) -> None:
    _approve(ctx, confirm=False)


def review_approve_confirmed(ctx: BotContext) -> None:
    """The second confirmation of a receipt the risk checks hold (pay:okc:<id>)."""
    _approve(ctx, confirm=True)


def _approve(ctx: BotContext, *, confirm: bool) -> None:
    payment = _payment(ctx)
    if payment is None:
        return
    try:
        decision = services.payment_approve(payment_id=payment.pk, reviewer=ctx.actor, confirm=confirm)
    except RiskHeld as exc:
        if exc.verdict.frozen:
            ctx.answer(str(exc), alert=True)
            return
        ctx.answer()
        ctx.send(ctx.user_id, _("⚠️ Top-up #%(id)s is held by the risk checks (score %(score)s):\n%(reasons)s\n\n"
                                "Approve it anyway?") % {
            "id": payment.pk, "score": exc.verdict.score,
            "reasons": escape("\n".join(f"• {r}" for r in exc.verdict.reasons))},
            parse_mode="HTML", reply_markup=inline_keyboard([[(_("⚠️ Yes, approve it"), f"pay:okc:{payment.pk}"),
                                           (_("❌ Reject"), f"pay:no:{payment.pk}")]]))
        return
    if decision.changed:
        ctx.answer(_("Approved: %(amount)s credited.") % {"amount": money(payment.amount)})
    else:
        _answer_already_decided(ctx, decision.payment)


def review_reject(ctx: BotContext) -> None:
    payment = _payment(ctx)
    if payment is None:
        return
    if payment.status != Payment.Status.PENDING:
        _answer_already_decided(ctx, payment)
        return
    dialog.dialog_start(user_id=ctx.user_id, name="reject_reason", data={"payment_id": payment.pk})
    ctx.answer()
    ctx.send(ctx.user_id, _("Why is top-up #%(id)s rejected? Send the reason (the customer will see it), or /cancel.")
             % {"id": payment.pk})


@dialog.step("reject_reason")
def receive_reject_reason(ctx: BotContext, data: dict) -> None:
    if not ctx.is_admin:
        dialog.dialog_clear(user_id=ctx.user_id)
        return
    if not ctx.text:
        ctx.reply(_("Please send the reason as text, or /cancel."))
        return
    try:
        decision = services.payment_reject(payment_id=int(data["payment_id"]), reviewer=ctx.actor, reason=ctx.text)
    except ShopError as exc:
        ctx.reply(str(exc))
        return
    dialog.dialog_clear(user_id=ctx.user_id)
    if decision.changed:
        ctx.reply(_("Top-up #%(id)s rejected; the customer was told.") % {"id": decision.payment.pk})
    else:
        ctx.reply(_("Top-up #%(id)s was already %(status)s.") % {"id": decision.payment.pk,
                                                               "status": decision.payment.get_status_display()})
