"""Telegram Stars in the chat: the pre-checkout question (answered on the webhook's fast path,
within Telegram's 10 seconds whatever the worker's backlog) and the successful payment."""

from __future__ import annotations

import html
import logging
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import override

from vpnbot.shop.models import Customer, Plan
from vpnbot.transport import messages, permissions
from vpnbot.transport.sender import TelegramError, get_sender

from ..models import Payment
from ..providers import stars
from .core import Applied, payment_confirm

log = logging.getLogger(__name__)
ANSWER_TIMEOUT = 5


def stars_pre_checkout(query: dict) -> str:
    """"" when Telegram may take the Stars, else the reason shown to the customer."""
    payment_id = stars.payment_id_from(query.get("invoice_payload"))
    sender_id = (query.get("from") or {}).get("id")
    payment = (Payment.objects.select_related("customer").filter(pk=payment_id, provider=Payment.Provider.STARS).first()
               if payment_id else None)
    if payment is None or payment.customer.telegram_id != sender_id:
        return _("This invoice is not valid any more.")
    refused = permissions.refusal(sender_id)  # a banned customer pays nothing (their money would be frozen)
    if refused:
        return refused
    if payment.status != Payment.Status.PENDING:
        return _("This payment is %(status)s: start a new one.") % {"status": payment.get_status_display()}
    if query.get("currency") != stars.Stars.currency or Decimal(int(query.get("total_amount") or 0)) != payment.provider_amount:
        return _("The amount of this invoice is not valid any more: start a new payment.")
    if payment.plan_id and not Plan.objects.filter(pk=payment.plan_id, is_active=True).exists():
        return _("This plan is not on sale any more. See /plans.")
    return ""


def stars_answer_pre_checkout(update: dict) -> bool:
    """The webhook's fast path for `pre_checkout_query` updates: answer now, in the web process.
    Returns whether an answer went out (a failure is logged: Telegram then declines the payment
    by itself, nothing is charged)."""
    query = update.get("pre_checkout_query")
    if not isinstance(query, dict) or not query.get("id"):
        return False
    try:
        customer = Customer.objects.filter(telegram_id=(query.get("from") or {}).get("id")).first()
        with override(customer.effective_language if customer else None):
            refusal = stars_pre_checkout(query)
    except Exception:  # the database is down: say no rather than leave the customer waiting
        log.exception("pre-checkout query %s not checked", query.get("id"))
        refusal = _("Payments are not available right now. Please try again in a minute.")
    params = {"pre_checkout_query_id": query["id"], "ok": not refusal}
    if refusal:
        params["error_message"] = refusal[:255]
    try:
        get_sender().call("answerPreCheckoutQuery", params, timeout=ANSWER_TIMEOUT)
    except TelegramError as exc:
        log.warning("pre-checkout query %s not answered: %s", query.get("id"), exc.description)
        return False
    return True


def stars_successful_payment(*, telegram_user_id: int, successful_payment: dict) -> Applied | None:
    """A `successful_payment` message (through the authenticated webhook): credited once by its
    charge id. None when it is not one of ours."""
    payment_id = stars.payment_id_from(successful_payment.get("invoice_payload"))
    payment = (Payment.objects.select_related("customer").filter(pk=payment_id, provider=Payment.Provider.STARS).first()
               if payment_id else None)
    if payment is None or payment.customer.telegram_id != telegram_user_id:
        payload = str(successful_payment.get("invoice_payload"))[:40]
        charge = str(successful_payment.get("telegram_payment_charge_id") or "")[:128]
        log.warning("successful_payment for an unknown invoice %r (user %s)", payload, telegram_user_id)
        # Telegram took Stars for something the shop cannot match: a person must look (and refund)
        messages.notify_admins(
            lambda: _("⚠️ Telegram reports %(stars)s Stars paid by user %(user)s for an invoice the shop cannot "
                      "match (%(payload)s, charge %(charge)s). Nothing was credited; check it and refund the Stars "
                      "if needed.") % {"stars": successful_payment.get("total_amount"), "user": telegram_user_id,
                                        "payload": html.escape(payload), "charge": html.escape(charge)},
            kind="payment_unmatched", dedup_key=f"stars-unmatched:{charge or payload}")
        return None
    return payment_confirm(payment_id=payment.pk, confirmation=stars.Stars.confirmation_of(successful_payment),
                           via="telegram")
