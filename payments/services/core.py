"""A payment's life: started at its provider, confirmed (credited once, under a lock, the order
placed when it pays one), held when the money is not what was asked, decided by an admin,
cancelled by the customer, expired when abandoned.

`payment_confirm` is the only door money from a provider comes through. Whoever calls it
(the callback view, the Stars handler, the reconciliation, an admin's "check now") has
verified the message first; it takes the payment's row lock, so a confirmation that arrives
twice, or from the callback and the poll at once, credits once (and the ledger's unique
source is a second guard).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop import messaging
from vpnbot.shop import services as shop
from vpnbot.shop.formatting import money
from vpnbot.shop.models import Customer, Order, WalletTransaction
from vpnbot.shop.paymethods import Purchase
from vpnbot.transport import messages

from .. import providers
from ..models import Payment
from ..providers import Confirmation, ProviderError

log = logging.getLogger(__name__)
TIMELINE_MAX = 40
DECIDED = (Payment.Status.PAID, Payment.Status.HELD, Payment.Status.REFUSED, Payment.Status.REFUNDED)


class PaymentsError(Exception):
    """Refused, with a text for the person who asked. `retry`: the provider may say yes later."""

    def __init__(self, message: str = "", *, retry: bool = False):
        super().__init__(message)
        self.retry = retry


def timeline_add(payment: Payment, event: str, detail: str = "") -> list:
    entry = {"at": timezone.now().isoformat(timespec="seconds"), "event": event}
    if detail:
        entry["detail"] = str(detail)[:200]
    payment.timeline = [*(payment.timeline or [])[-(TIMELINE_MAX - 1):], entry]
    return payment.timeline


def provider_for(key: str, *, enabled: bool = True):
    provider = providers.get(key)
    if provider is None or (enabled and not provider.enabled()):
        raise PaymentsError(_("This payment method is not available right now."))
    return provider


# --- start ------------------------------------------------------------------------------------------

def payment_start(*, provider_key: str, customer: Customer, amount: int, purchase: Purchase | None = None,
                  link: bool = False) -> Payment:
    """Open a payment at the provider: a row first (so whatever the provider does is traceable),
    then the provider's call; a failed call leaves the payment failed with the reason.
    link: the customer pays outside the chat (the Mini App), so the payment needs a URL (a
    Telegram invoice link for Stars) rather than a message in the chat."""
    provider = provider_for(provider_key)
    plan = None
    quantity = 1
    if purchase is not None:
        plan = shop.plan_get_active(purchase.plan_id)
        quantity = shop.validate_quantity(purchase.quantity)
        if amount != purchase.expected_total or amount < 1:
            raise PaymentsError(_("The price changed since you saw it. Start again with /buy."))
    else:
        low, high = shop.topup_limits()
        if isinstance(amount, bool) or not isinstance(amount, int) or not low <= amount <= high:
            raise PaymentsError(_("The amount must be between %(min)s and %(max)s.") % {"min": money(low), "max": money(high)})
    asked = provider.asked(amount=amount, plan=plan, quantity=quantity)
    payment = Payment(provider=provider.key, customer=customer, amount=amount, currency=asked.currency,
                      provider_amount=asked.amount, plan=plan, quantity=quantity,
                      purpose=Payment.Purpose.ORDER if purchase else Payment.Purpose.TOPUP,
                      expected_total=purchase.expected_total if purchase else None,
                      discount_code=(purchase.code if purchase else "")[:32])
    timeline_add(payment, "created", asked.text())
    payment.save(force_insert=True)
    try:
        opened = provider.start_link(payment) if link else provider.start(payment)
    except ProviderError as exc:
        log.warning("%s payment %s not started: %s", provider.key, payment.pk, exc)
        timeline_add(payment, "start failed", str(exc))
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED, note=str(exc)[:500],
                                                     timeline=payment.timeline)
        raise PaymentsError(_("%(method)s could not start this payment. Please try again in a minute or choose "
                              "another way to pay.") % {"method": provider.label()}) from None
    payment.provider_payment_id = opened.provider_payment_id
    payment.pay_url = opened.url[:500]
    payment.status_detail = opened.status_detail[:64]
    timeline_add(payment, "opened", opened.provider_payment_id or "")
    Payment.objects.filter(pk=payment.pk).update(provider_payment_id=payment.provider_payment_id,
                                                 pay_url=payment.pay_url, status_detail=payment.status_detail,
                                                 timeline=payment.timeline)
    return payment


# --- confirm ----------------------------------------------------------------------------------------

@dataclass
class Applied:
    payment: Payment
    credited: bool = False
    order: Order | None = None
    changed: bool = False  # the payment's state moved


def _matches(payment: Payment, confirmation: Confirmation) -> bool:
    if confirmation.amount is None:
        return True  # the provider's verify checked the amount we sent it (Zarinpal)
    same_currency = (confirmation.currency or payment.currency).upper() == payment.currency.upper()
    return same_currency and Decimal(confirmation.amount) == payment.provider_amount


def payment_confirm(*, payment_id: int, confirmation: Confirmation, via: str) -> Applied:
    """Apply what a verified confirmation says, once. PAID credits (or holds a different amount),
    HOLD holds, FAILED/EXPIRED close a pending payment, PENDING records the provider's word."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("customer").get(pk=payment_id)
        if confirmation.provider_payment_id and not payment.provider_payment_id:
            payment.provider_payment_id = confirmation.provider_payment_id[:128]
        if payment.status in DECIDED:
            log.info("%s payment %s: %s again via %s (already %s)", payment.provider, payment.pk,
                     confirmation.status, via, payment.status)
            return Applied(payment)
        now = timezone.now()
        payment.checked_at = now
        detail = f"{via}: {confirmation.detail or confirmation.status}"
        if confirmation.status == providers.PENDING:
            payment.status_detail = (confirmation.detail or payment.status_detail)[:64]
            payment.save(update_fields=["status_detail", "checked_at", "provider_payment_id", "updated_at"])
            return Applied(payment)
        if confirmation.amount is not None:
            payment.received_amount = Decimal(confirmation.amount)
            payment.received_currency = (confirmation.currency or "")[:8]
        payment.status_detail = (confirmation.detail or confirmation.status)[:64]
        timeline_add(payment, confirmation.status, detail)
        if confirmation.status == providers.PAID and not _matches(payment, confirmation):
            return _hold(payment, _("paid %(got)s, asked %(asked)s") % {
                "got": f"{confirmation.amount} {confirmation.currency}",
                "asked": providers.Asked(payment.provider_amount, payment.currency).text()})
        if confirmation.status == providers.HOLD:
            return _hold(payment, confirmation.detail or _("the provider reported a partial payment"))
        if confirmation.status == providers.PAID:
            return _credit(payment, now)
        if confirmation.status in (providers.FAILED, providers.EXPIRED):
            if payment.status == Payment.Status.PENDING:
                payment.status = Payment.Status.FAILED if confirmation.status == providers.FAILED else Payment.Status.EXPIRED
            payment.save()
            return Applied(payment, changed=True)
        payment.save()
        return Applied(payment)


def _credit(payment: Payment, now, *, note: str = "") -> Applied:
    """Inside the payment's lock: the wallet credited, then the order placed when the payment
    pays one (in a savepoint: a refused order leaves the money in the wallet)."""
    shop.wallet_apply(customer_id=payment.customer_id, amount=payment.amount, reason=WalletTransaction.Reason.TOPUP,
                      source=f"pay:{payment.provider}:{payment.pk}",
                      note=f"{payment.get_provider_display()} #{payment.pk}")
    payment.status = Payment.Status.PAID
    payment.paid_at = now
    if note:
        payment.note = note[:500]
    order, refused = None, ""
    if payment.purpose == Payment.Purpose.ORDER and payment.plan_id:
        try:
            with transaction.atomic():
                order = shop.order_checkout(customer_id=payment.customer_id, plan_id=payment.plan_id,
                                            quantity=payment.quantity, idempotency_key=f"pay:{payment.pk}",
                                            code=payment.discount_code, expected_total=payment.expected_total).order
            payment.order = order
            timeline_add(payment, "order placed", f"order #{order.pk}")
        except shop.ShopError as exc:
            refused = str(exc) if not isinstance(exc, shop.QuoteChanged) else _("the price changed")
            timeline_add(payment, "order not placed", refused)
    payment.save()
    customer = Customer.objects.get(pk=payment.customer_id)
    _tell_paid(payment, customer, order, refused)
    return Applied(payment, credited=True, order=order, changed=True)


def _tell_paid(payment: Payment, customer: Customer, order: Order | None, refused: str) -> None:
    def text():
        lines = [_("✅ %(amount)s received by %(method)s.") % {"amount": money(payment.amount),
                                                              "method": payment.get_provider_display()}]
        if order is not None:
            lines.append(_("Order #%(id)s for %(plan)s is placed; see /my_services.") % {
                "id": order.pk, "plan": payment.plan.name})
        elif payment.purpose == Payment.Purpose.ORDER:
            lines.append(_("The order could not be placed (%(why)s): the money is in your wallet. Buy again with "
                           "/buy.") % {"why": refused})
        lines.append(_("Wallet balance: %(balance)s.") % {"balance": money(customer.balance_amount)})
        return "\n".join(lines)

    messaging.notify_customer(customer, kind="payment_approved", dedup_key=f"online-payment:{payment.pk}",
                              context={"amount": payment.amount, "balance": customer.balance_amount,
                                       "payment_id": payment.pk}, text=text, urgent=True)


def _hold(payment: Payment, why: str) -> Applied:
    payment.status = Payment.Status.HELD
    payment.note = str(why)[:500]
    payment.save()
    messages.notify_admins(
        lambda: _("⚠️ %(method)s payment #%(id)s of %(customer)s is held: %(why)s. Credit or refuse it in the "
                  "admin (Payments).") % {"method": payment.get_provider_display(), "id": payment.pk,
                                           "customer": html.escape(str(payment.customer)), "why": html.escape(why)},
        kind="payment_held", dedup_key=f"payment-held:{payment.pk}")
    messaging.notify_customer(
        payment.customer, kind="payment_approved", dedup_key=f"online-payment-held:{payment.pk}",
        text=lambda: _("Your %(method)s payment #%(id)s arrived but does not match what was asked; an admin will "
                       "look at it.") % {"method": payment.get_provider_display(), "id": payment.pk})
    return Applied(payment, changed=True)


# --- decisions --------------------------------------------------------------------------------------

def _decidable(payment_id: int) -> Payment:
    payment = Payment.objects.select_for_update().select_related("customer").get(pk=payment_id)
    if payment.provider == Payment.Provider.CARD:
        raise PaymentsError(_("A card receipt is approved or rejected as a top-up."))
    if payment.status in (Payment.Status.PAID, Payment.Status.REFUNDED, Payment.Status.REFUSED):
        raise PaymentsError(_("This payment is already %(status)s.") % {"status": payment.get_status_display()})
    return payment


def payment_credit_held(*, payment_id: int, by: str, reason: str) -> Applied:
    """An admin credits a held (or pending) payment after looking at it at the provider."""
    reason = _reason(reason)
    with transaction.atomic():
        payment = _decidable(payment_id)
        payment.decided_by = by[:100]
        timeline_add(payment, "credited by an admin", f"{by}: {reason}")
        return _credit(payment, timezone.now(), note=reason)


def payment_refuse(*, payment_id: int, by: str, reason: str) -> Payment:
    reason = _reason(reason)
    with transaction.atomic():
        payment = _decidable(payment_id)
        payment.status = Payment.Status.REFUSED
        payment.decided_by = by[:100]
        payment.note = reason[:500]
        timeline_add(payment, "refused by an admin", f"{by}: {reason}")
        payment.save()
        messaging.notify_customer(
            payment.customer, kind="payment_rejected", dedup_key=f"online-payment-refused:{payment.pk}",
            context={"amount": payment.amount, "reason": reason, "payment_id": payment.pk},
            text=lambda: _("❌ Your %(method)s payment #%(id)s was not credited.\nReason: %(reason)s")
            % {"method": payment.get_provider_display(), "id": payment.pk, "reason": reason})
    return payment


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PaymentsError(_("Please give a reason."))
    if len(reason) > 500:
        raise PaymentsError(_("The reason is too long (500 characters at most)."))
    return reason


def payment_cancel(*, payment_id: int, customer_id: int) -> Payment:
    """The customer gives up a pending payment. Money that still arrives for it is credited."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id, customer_id=customer_id).first()
        if payment is None:
            raise PaymentsError(_("This payment was not found."))
        if payment.status != Payment.Status.PENDING:
            raise PaymentsError(_("This payment is already %(status)s.") % {"status": payment.get_status_display()})
        payment.status = Payment.Status.CANCELLED
        timeline_add(payment, "cancelled by the customer")
        payment.save()
    return payment


def payment_check(*, payment_id: int, via: str = "check") -> Applied:
    """Ask the provider where this payment stands and apply the answer (an admin's "check now",
    the reconciliation). Raises PaymentsError when the provider cannot be asked."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.provider == Payment.Provider.CARD:
        raise PaymentsError(_("A card receipt is checked by looking at its photo."))
    provider = provider_for(payment.provider, enabled=False)
    try:
        confirmation = provider.check(payment)
    except ProviderError as exc:
        Payment.objects.filter(pk=payment.pk).update(checked_at=timezone.now())
        raise PaymentsError(_("%(method)s did not answer: %(error)s") % {"method": provider.label(),
                                                                          "error": str(exc)[:200]},
                            retry=exc.retry) from None
    return payment_confirm(payment_id=payment.pk, confirmation=confirmation, via=via)
