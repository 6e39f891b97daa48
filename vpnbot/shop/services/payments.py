"""Wallet top-ups by card receipt: the amount typed, the receipt submitted, its review sent to
every admin (once each), and the approval (credited once) or rejection that closes it."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vpnbot.core import bounds
from vpnbot.core.numbers import latin_digits
from vpnbot.transport import messages
from vpnbot.transport.permissions import admin_chat_ids

from .. import events, messaging, risk, selectors
from ..formatting import money
from ..models import Customer, Payment, WalletTransaction
from .errors import RiskHeld, ShopError
from .wallet import wallet_apply

log = logging.getLogger(__name__)


def topup_limits() -> tuple[int, int]:
    """The smallest and largest top-up: the settings, held within the bounds of an amount."""
    return max(settings.TOPUP_MIN_AMOUNT, 1), min(settings.TOPUP_MAX_AMOUNT, bounds.MAX_AMOUNT)


def topup_parse_amount(text: str) -> int:
    """A whole number within the shop's limits (Persian or Latin digits, commas allowed)."""
    low, high = topup_limits()
    digits = latin_digits(text).strip().replace(",", "").replace(" ", "")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 15:  # "²".isdigit(), yet int("²") fails
        raise ShopError(_("Please send the amount as a whole number, for example %(example)s.")
                        % {"example": f"{low * 5:,}"})
    amount = int(digits)
    if not low <= amount <= high:
        raise ShopError(_("The amount must be between %(min)s and %(max)s.") % {"min": money(low), "max": money(high)})
    return amount


def payment_submit(*, customer: Customer, amount: int, receipt_file_id: str, receipt_unique_id: str = "") -> Payment:
    """A receipt to review: stored, scored by the risk checks (kept on the payment and shown to
    the reviewers), announced, and sent to every admin after commit."""
    low, high = topup_limits()
    if isinstance(amount, bool) or not isinstance(amount, int) or not low <= amount <= high or not receipt_file_id:
        raise ShopError(_("This top-up is not valid."))
    payment = Payment(customer=customer, amount=amount, receipt_file_id=receipt_file_id[:255],
                      receipt_unique_id=(receipt_unique_id or "")[:64])
    try:
        bounds.check(payment, "amount")  # the model's bounds, whatever the settings say
    except ValidationError:
        raise ShopError(_("This top-up is not valid.")) from None
    with transaction.atomic():
        payment.save(force_insert=True)
        verdict = risk.risk_assess(subject="payment", customer=customer, stage="submit", payment=payment)
        if verdict.score or verdict.reasons or verdict.action != risk.ALLOW:
            _keep_verdict(payment, verdict)
            Payment.objects.filter(pk=payment.pk).update(risk_score=payment.risk_score, risk_action=payment.risk_action,
                                                         risk_reasons=payment.risk_reasons)
        events.emit("topup_submitted", customer=customer, payment_id=payment.pk, amount=amount)
        transaction.on_commit(partial(_enqueue_payment_review, payment.pk))
    return payment


def _enqueue_payment_review(payment_id: int) -> None:
    """One task per admin, so an admin who blocked the bot or is rate-limited does not hold
    up the others; each task retries on its own (tasks.send_payment_review)."""
    from .. import tasks  # tasks imports services: a cycle at import time

    for chat_id in admin_chat_ids():
        try:
            tasks.send_payment_review.delay(payment_id, chat_id)
        except Exception:  # a broker failure must not fail the customer's update; the payment is in the admin list
            log.exception("review of payment %s for admin %s not queued", payment_id, chat_id)


def _keep_verdict(payment: Payment, verdict: risk.Verdict) -> None:
    payment.risk_score = max(0, min(int(verdict.score), 100))
    payment.risk_action = verdict.action
    payment.risk_reasons = [str(reason)[:300] for reason in verdict.reasons][:20]


def payment_risk_text(payment: Payment) -> str:
    """The risk line of a receipt for its reviewers: empty when the checks had nothing to say."""
    if not payment.risk_score and not payment.risk_reasons and payment.risk_action == risk.ALLOW:
        return ""
    labels = {risk.ALLOW: _("allow"), risk.FLAG: _("flagged"), risk.HOLD: _("held: approval needs a second confirmation"),
              risk.FREEZE: _("frozen: the customer is banned")}
    lines = [_("⚠️ Risk %(score)s/100, %(action)s") % {"score": payment.risk_score,
                                                      "action": labels.get(payment.risk_action, payment.risk_action)}]
    lines += [f"• {reason}" for reason in payment.risk_reasons or []]
    return "\n".join(lines)


def _payment_review_text(payment: Payment) -> str:
    customer = payment.customer
    text = _("🧾 Top-up #%(id)s\nCustomer: %(customer)s (id %(tid)s)\nAmount: %(amount)s") % {
        "id": payment.pk, "customer": html.escape(str(customer), quote=False), "tid": customer.telegram_id,
        "amount": money(payment.amount)}
    risk_text = payment_risk_text(payment)
    return f"{text}\n{html.escape(risk_text, quote=False)}" if risk_text else text


def _review_buttons(payment: Payment) -> list:
    return [[(_("✅ Approve"), f"pay:ok:{payment.pk}"), (_("❌ Reject"), f"pay:no:{payment.pk}")]]


def payment_risk_update(*, payment_id: int, verdict: risk.Verdict) -> bool:
    """A new verdict for a receipt (a check that finished later, e.g. on the image itself):
    kept on the payment, and the review messages already sent show it. Only while pending;
    a verdict never lowers what is on record. Returns whether anything changed."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("customer").filter(pk=payment_id).first()
        if payment is None or payment.status != Payment.Status.PENDING:
            return False
        strength = {risk.ALLOW: 0, risk.FLAG: 1, risk.HOLD: 2, risk.FREEZE: 3}
        action = max(payment.risk_action, verdict.action, key=lambda a: strength.get(a, 0))
        reasons = list(payment.risk_reasons or []) + [r for r in verdict.reasons if r not in (payment.risk_reasons or [])]
        merged = risk.Verdict(action=action, score=max(payment.risk_score, verdict.score), reasons=tuple(reasons))
        before = (payment.risk_score, payment.risk_action, list(payment.risk_reasons or []))
        _keep_verdict(payment, merged)
        if before == (payment.risk_score, payment.risk_action, payment.risk_reasons):
            return False
        Payment.objects.filter(pk=payment.pk).update(risk_score=payment.risk_score, risk_action=payment.risk_action,
                                                     risk_reasons=payment.risk_reasons)
        pairs = [pair for pair in payment.admin_messages or [] if pair[1] is not None]

        def edit():
            for chat_id, message_id in pairs:
                with translation.override(messaging.admin_language(chat_id)):
                    caption, buttons = _payment_review_text(payment), _review_buttons(payment)
                try:
                    messages.edit_message(chat_id, message_id, caption=caption, buttons=buttons)
                except messages.TelegramError as exc:
                    log.info("review message not updated: %s", exc.description)

        transaction.on_commit(edit)
    return True


def payment_review_send(*, payment_id: int, chat_id: int) -> bool:
    """Send one admin the receipt of a pending top-up with the review buttons, at most once:
    the admins already sent a copy are in Payment.admin_messages ([chat_id, message_id]),
    recorded as soon as Telegram accepts the message, so a retry skips them. Returns whether
    a message was sent; raises the sender's TelegramError (the task decides on retrying).
    A decided payment is not sent any more (nothing left to review)."""
    chat_id = int(chat_id)
    payment = selectors.payment_get(payment_id)
    if payment is None or payment.status != Payment.Status.PENDING:
        return False
    if any(int(pair[0]) == chat_id for pair in payment.admin_messages or []):
        return False
    with translation.override(messaging.admin_language(chat_id)):
        caption = _payment_review_text(payment)
        buttons = _review_buttons(payment)
    message_id = messages.send_now(chat_id, caption, photo=payment.receipt_file_id, buttons=buttons)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        pairs = list(payment.admin_messages or [])
        if not any(int(pair[0]) == chat_id for pair in pairs):
            pairs.append([chat_id, message_id])
            Payment.objects.filter(pk=payment_id).update(admin_messages=pairs)
        if payment.status != Payment.Status.PENDING and message_id is not None:
            # decided while this copy was on its way: the decision's edit did not know of it
            transaction.on_commit(partial(_clear_review_buttons, chat_id, message_id))
    return True


def _clear_review_buttons(chat_id: int, message_id: int) -> None:
    try:
        messages.edit_message(chat_id, message_id, clear_buttons=True)
    except messages.TelegramError as exc:
        log.info("review buttons not cleared: %s", exc.description)


@dataclass
class Decision:
    payment: Payment
    changed: bool  # False when somebody else decided first


def payment_approve(*, payment_id: int, reviewer: str, confirm: bool = False) -> Decision:
    """Approve a pending top-up and credit the wallet, exactly once. The risk checks are asked
    first: a held receipt raises RiskHeld unless the reviewer confirms it (confirm=True, kept
    in risk_confirmed_by); a frozen one (a banned customer) raises RiskHeld whatever."""
    payment = Payment.objects.select_related("customer").get(pk=payment_id)
    if payment.status == Payment.Status.PENDING:
        verdict = risk.risk_assess(subject="payment", customer=payment.customer, stage="approve", payment=payment,
                                   confirmed_by=reviewer[:100] if confirm else "")
        if verdict.frozen or (verdict.held and not confirm):
            raise RiskHeld(verdict)
    with transaction.atomic():
        updated = Payment.objects.filter(pk=payment_id, status=Payment.Status.PENDING).update(
            status=Payment.Status.APPROVED, reviewer=reviewer[:100], reviewed_at=timezone.now(),
            risk_confirmed_by=reviewer[:100] if confirm else "")
        payment = Payment.objects.select_related("customer").get(pk=payment_id)
        if not updated:
            return Decision(payment, False)
        wallet_apply(customer_id=payment.customer_id, amount=payment.amount, reason=WalletTransaction.Reason.TOPUP,
                     source=f"payment:{payment.pk}", note=f"top-up #{payment.pk}")
        events.emit("payment_approved", customer=payment.customer, payment_id=payment.pk, amount=payment.amount)
        customer = Customer.objects.get(pk=payment.customer_id)
        messaging.notify_customer(
            customer, kind="payment_approved", dedup_key=f"payment:{payment.pk}",
            context={"amount": payment.amount, "balance": customer.balance_amount, "payment_id": payment.pk},
            text=lambda: _("✅ Your top-up of %(amount)s was approved. Wallet balance: %(balance)s.") % {
                "amount": money(payment.amount), "balance": money(customer.balance_amount)},
        )
        _mark_review_messages(payment, lambda: _("✅ Approved by %(who)s") % {"who": reviewer})
    return Decision(payment, True)


def payment_reject(*, payment_id: int, reviewer: str, reason: str) -> Decision:
    reason = (reason or "").strip()
    if not reason:
        raise ShopError(_("Please give a reason for the rejection."))
    if len(reason) > 500:
        raise ShopError(_("The reason is too long (500 characters at most)."))
    with transaction.atomic():
        updated = Payment.objects.filter(pk=payment_id, status=Payment.Status.PENDING).update(
            status=Payment.Status.REJECTED, reviewer=reviewer[:100], reason=reason, reviewed_at=timezone.now())
        payment = Payment.objects.select_related("customer").get(pk=payment_id)
        if not updated:
            return Decision(payment, False)
        events.emit("payment_rejected", customer=payment.customer, payment_id=payment.pk, reason=reason)
        messaging.notify_customer(
            payment.customer, kind="payment_rejected", dedup_key=f"payment:{payment.pk}",
            context={"amount": payment.amount, "reason": reason, "payment_id": payment.pk},
            text=lambda: _("❌ Your top-up of %(amount)s was rejected.\nReason: %(reason)s") % {
                "amount": money(payment.amount), "reason": reason},
        )
        _mark_review_messages(payment, lambda: _("❌ Rejected by %(who)s: %(reason)s") % {"who": reviewer, "reason": reason})
    return Decision(payment, True)


def _mark_review_messages(payment: Payment, verdict) -> None:
    """Edit every admin's copy of the receipt so nobody reviews it again."""
    pairs = list(payment.admin_messages or [])

    def edit():
        for chat_id, message_id in pairs:
            if message_id is None:
                continue
            with translation.override(messaging.admin_language(chat_id)):
                caption = _("Top-up #%(id)s: %(amount)s\n%(verdict)s") % {
                    "id": payment.pk, "amount": money(payment.amount), "verdict": verdict()}
            try:  # plain text: the reviewer's name and reason are not HTML
                messages.edit_message(chat_id, message_id, caption=caption, clear_buttons=True, parse_mode="")
            except messages.TelegramError as exc:
                log.info("review message not edited: %s", exc.description)

    transaction.on_commit(edit)
