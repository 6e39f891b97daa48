"""Money back to where it came from (Telegram Stars: refundStarPayment), tied into the shop's
refund flow: refunding an order paid by an online payment in full (the admin, the API, the
bot) sends the money back to the provider instead of leaving it in the wallet; refunding the
payment itself refunds its order first, through the same flow.

The wallet moves with the provider's answer: the debit and the provider's call happen in one
transaction (a refusal rolls the debit back); a lost answer is retried, and the provider's
"already refunded" counts as done, so a refund happens once.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop import messaging
from vpnbot.shop import services as shop
from vpnbot.shop.formatting import money
from vpnbot.shop.models import Order, WalletTransaction
from vpnbot.transport import messages

from ..models import Payment
from ..providers import ProviderError
from .core import PaymentsError, provider_for, timeline_add

log = logging.getLogger(__name__)


def payment_refund(*, payment_id: int, by: str, reason: str) -> Payment:
    """An operator refunds a paid online payment to its provider. A payment that placed an
    order refunds the order in full first (discounts and cashback unwind, the service stops);
    the money then goes back to the provider."""
    reason = (reason or "").strip()
    if not reason:
        raise PaymentsError(_("Please give a reason for the refund."))
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    if payment.provider == Payment.Provider.CARD:
        raise PaymentsError(_("A card receipt is paid back by refunding its orders to the wallet, or outside the "
                              "shop."))
    provider = provider_for(payment.provider, enabled=False)
    if not provider.can_refund:
        raise PaymentsError(_("%(method)s payments cannot be refunded from here: refund the order to the wallet, "
                              "or pay the customer back outside the shop.") % {"method": provider.label()})
    if payment.status != Payment.Status.PAID:
        raise PaymentsError(_("Only a paid payment can be refunded (this one is %(status)s).")
                            % {"status": payment.get_status_display()})
    if payment.order_id and payment.order.status == Order.Status.PAID:
        with transaction.atomic():
            shop.order_refund(order_id=payment.order_id, mode="full", reason=reason, by=by)
        # the order_refunded receiver queued the provider refund; run it now for a direct answer
    return payment_refund_to_provider(payment_id=payment.pk, by=by, reason=reason)


def payment_refund_to_provider(*, payment_id: int, by: str = "", reason: str = "") -> Payment:
    """Take the payment's amount from the wallet and give it back at the provider, once.
    Raises PaymentsError when the wallet no longer holds it or the provider refuses."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("customer").get(pk=payment_id)
        if payment.status == Payment.Status.REFUNDED:
            return payment
        if payment.status != Payment.Status.PAID:
            raise PaymentsError(_("Only a paid payment can be refunded (this one is %(status)s).")
                                % {"status": payment.get_status_display()})
        provider = provider_for(payment.provider, enabled=False)
        try:
            shop.wallet_apply(customer_id=payment.customer_id, amount=-payment.amount,
                              reason=WalletTransaction.Reason.REFUND, source=f"pay-refund:{payment.pk}",
                              note=_("back to %(method)s") % {"method": payment.get_provider_display()})
        except shop.InsufficientBalance:
            raise PaymentsError(_("The wallet no longer holds %(amount)s: the money stays in the wallet.")
                                % {"amount": money(payment.amount)}) from None
        try:
            provider.refund(payment)  # inside the transaction: a refusal rolls the debit back
        except ProviderError as exc:
            raise PaymentsError(_("%(method)s refused the refund: %(error)s")
                                % {"method": provider.label(), "error": str(exc)[:200]}, retry=exc.retry) from None
        payment.status = Payment.Status.REFUNDED
        payment.decided_by = (by or payment.decided_by)[:100]
        timeline_add(payment, "refunded", f"{by}: {reason}" if by else reason)
        payment.save()
        messaging.notify_customer(
            payment.customer, kind="order_refunded", dedup_key=f"online-refund:{payment.pk}",
            context={"amount": payment.amount, "payment_id": payment.pk, "reason": reason},
            text=lambda: _("↩️ Your %(method)s payment #%(id)s (%(asked)s) was refunded to you.")
            % {"method": payment.get_provider_display(), "id": payment.pk,
               "asked": f"{payment.provider_amount.normalize():f} {payment.currency}"})
    return payment


def on_order_refunded(event) -> None:
    """An order paid by a refundable online payment and refunded in full: after the refund
    commits, the money goes back to the provider (a task; the wallet keeps it if that fails)."""
    order_id = (event.payload or {}).get("order_id")
    payment = (Payment.objects.filter(order_id=order_id, status=Payment.Status.PAID).only("pk", "provider", "amount")
               .first())
    if payment is None or event.payload.get("amount") != payment.amount:
        return  # not paid online, or a partial refund: it stays in the wallet
    try:
        provider = provider_for(payment.provider, enabled=False)
    except PaymentsError:
        return
    if provider.can_refund:
        transaction.on_commit(partial(_queue_refund, payment.pk, str(event.payload.get("by", ""))))


def _queue_refund(payment_id: int, by: str) -> None:
    from .. import tasks  # tasks import services

    tasks.refund_to_provider.delay(payment_id, by)


def refund_failed(*, payment_id: int, error: str) -> None:
    payment = Payment.objects.get(pk=payment_id)
    Payment.objects.filter(pk=payment_id).update(note=error[:500], checked_at=timezone.now())
    messages.notify_admins(
        lambda: _("⚠️ %(method)s payment #%(id)s was not refunded to the customer: %(error)s. The money is in their "
                  "wallet.") % {"method": payment.get_provider_display(), "id": payment.pk, "error": error[:200]},
        kind="payment_refund_failed", dedup_key=f"payment-refund-failed:{payment.pk}")
