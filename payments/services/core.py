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

from vpnbot.shop import messaging, risk
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
        # the total comes from a button (old, or made up): asked only when it is the price now
        now = shop.price_quote(customer, plan, quantity, code=purchase.code).total_amount
        if amount != purchase.expected_total or amount < 1 or now != purchase.expected_total:
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


# what Payment.received_amount (24 digits, 8 after the point) can keep
STORABLE_LIMIT = Decimal(10) ** (24 - 8) - 1


def _storable(amount: Decimal) -> bool:
    return amount.is_finite() and abs(amount) < STORABLE_LIMIT


def _plain(amount: Decimal) -> str:
    """A reported amount as written (1000, not 1E+3), whatever its size."""
    return f"{amount.normalize():f}" if amount.is_finite() else str(amount)


def _matches(payment: Payment, confirmation: Confirmation) -> bool:
    if confirmation.amount is None:
        return True  # the provider's verify checked the amount we sent it (Zarinpal)
    same_currency = (confirmation.currency or payment.currency).upper() == payment.currency.upper()
    return same_currency and _storable(confirmation.amount) and Decimal(confirmation.amount) == payment.provider_amount


def payment_confirm(*, payment_id: int, confirmation: Confirmation, via: str) -> Applied:
    """Apply what a verified confirmation says, once. PAID credits (or holds a different amount),
    HOLD holds, FAILED/EXPIRED close a pending payment, PENDING records the provider's word."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("customer").get(pk=payment_id)
        reported_id = (confirmation.provider_payment_id or "")[:128]
        taken_by = None
        if reported_id and not payment.provider_payment_id:
            taken_by = (Payment.objects.filter(provider=payment.provider, provider_payment_id=reported_id)
                        .exclude(pk=payment.pk).values_list("pk", flat=True).first())
            if taken_by is None:
                payment.provider_payment_id = reported_id
        if payment.status in DECIDED:
            if (confirmation.status in (providers.PAID, providers.HOLD) and reported_id
                    and payment.provider_payment_id and reported_id != payment.provider_payment_id):
                return _another_payment(payment, reported_id, via)
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
            # an amount too large to keep stays only in the held note (it never matches what was asked)
            payment.received_amount = Decimal(confirmation.amount) if _storable(confirmation.amount) else None
            payment.received_currency = (confirmation.currency or "")[:8]
        payment.status_detail = (confirmation.detail or confirmation.status)[:64]
        timeline_add(payment, confirmation.status, detail)
        if taken_by is not None and confirmation.status in (providers.PAID, providers.HOLD):
            return _hold(payment, _("the provider's id %(id)s is already payment #%(other)s's") % {
                "id": reported_id, "other": taken_by})
        if confirmation.status == providers.PAID and not _matches(payment, confirmation):
            return _hold(payment, _("paid %(got)s, asked %(asked)s") % {
                "got": f"{_plain(Decimal(confirmation.amount))} {confirmation.currency}"[:200],
                "asked": providers.Asked(payment.provider_amount, payment.currency).text()})
        if confirmation.status == providers.HOLD:
            return _hold(payment, confirmation.detail or _("the provider reported a partial payment"))
        if confirmation.status == providers.PAID:
            verdict = _risk(payment)
            if verdict.held:
                return _hold(payment, risk_why(verdict), verdict=verdict)
            return _credit(payment, now)
        if confirmation.status in (providers.FAILED, providers.EXPIRED):
            if payment.status == Payment.Status.PENDING:
                payment.status = Payment.Status.FAILED if confirmation.status == providers.FAILED else Payment.Status.EXPIRED
            payment.save()
            return Applied(payment, changed=True)
        payment.save()
        return Applied(payment)


def _risk(payment: Payment, *, stage: str = "confirm", confirmed_by: str = "") -> risk.Verdict:
    """The risk checks' word on money that arrived (kept on the payment): HOLD holds it for an
    admin, FREEZE (a banned customer) holds it until the ban is lifted, FLAG credits it (the
    checks keep the case for an operator)."""
    verdict = risk.risk_assess(subject="online_payment", customer=payment.customer, stage=stage, payment=payment,
                               confirmed_by=confirmed_by)
    if stage == "confirm" or verdict.frozen:
        payment.risk_score = max(0, min(int(verdict.score), 100))
        payment.risk_action = verdict.action
        payment.risk_reasons = [str(reason)[:300] for reason in verdict.reasons][:20]
    return verdict


def risk_why(verdict: risk.Verdict) -> str:
    return _("held by the risk checks (score %(score)s): %(reasons)s") % {
        "score": verdict.score, "reasons": verdict.reasons_text() or "—"}


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
        except Exception:  # the provider has the money: a bug in placing the order must not undo the credit
            log.exception("%s payment %s: the order could not be placed", payment.provider, payment.pk)
            refused = _("an error on our side")
            timeline_add(payment, "order not placed", "error, see the log")
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


def _hold(payment: Payment, why: str, *, verdict: risk.Verdict | None = None) -> Applied:
    payment.status = Payment.Status.HELD
    payment.note = str(why)[:500]
    if verdict is not None:
        timeline_add(payment, "held by the risk checks", f"{verdict.action} {verdict.score}")
    payment.save()
    messages.notify_admins(
        lambda: _("⚠️ %(method)s payment #%(id)s of %(customer)s is held: %(why)s. Credit or refuse it in the "
                  "admin (Payments).") % {"method": payment.get_provider_display(), "id": payment.pk,
                                           "customer": html.escape(str(payment.customer)), "why": html.escape(why)},
        kind="payment_held", dedup_key=f"payment-held:{payment.pk}")
    if verdict is not None and verdict.frozen:
        return Applied(payment, changed=True)  # a banned customer is not written to
    if verdict is not None:
        text = lambda: _("Your %(method)s payment #%(id)s arrived; an admin will look at it before it is "  # noqa: E731
                         "credited.") % {"method": payment.get_provider_display(), "id": payment.pk}
    else:
        text = lambda: _("Your %(method)s payment #%(id)s arrived but does not match what was asked; an admin "  # noqa: E731
                         "will look at it.") % {"method": payment.get_provider_display(), "id": payment.pk}
    messaging.notify_customer(payment.customer, kind="payment_approved",
                              dedup_key=f"online-payment-held:{payment.pk}", text=text)
    return Applied(payment, changed=True)


def _another_payment(payment: Payment, reported_id: str, via: str) -> Applied:
    """A second payment at the provider for a payment already decided (an invoice paid twice):
    nothing is credited, it is kept on the timeline and the admins are told, to give it back
    at the provider or credit it by hand."""
    log.warning("%s payment %s (already %s): another payment %s via %s", payment.provider, payment.pk,
                payment.status, reported_id, via)
    if any(isinstance(e, dict) and e.get("event") == "paid again" and str(e.get("detail", "")).endswith(f": {reported_id}")
           for e in payment.timeline or []):
        return Applied(payment)  # told already
    timeline_add(payment, "paid again", f"{via}: {reported_id}")
    Payment.objects.filter(pk=payment.pk).update(timeline=payment.timeline)
    messages.notify_admins(
        lambda: _("⚠️ %(method)s payment #%(id)s of %(customer)s is already %(status)s, and was paid again "
                  "(%(charge)s). Nothing was credited for it: give it back at the provider, or credit the customer "
                  "by hand.") % {"method": payment.get_provider_display(), "id": payment.pk,
                                 "customer": html.escape(str(payment.customer)), "status": payment.get_status_display(),
                                 "charge": html.escape(reported_id)},
        kind="payment_held", dedup_key=f"payment-paid-again:{payment.pk}:{reported_id}")
    messaging.notify_customer(
        payment.customer, kind="payment_approved", dedup_key=f"online-payment-again:{payment.pk}:{reported_id}",
        text=lambda: _("Your %(method)s payment #%(id)s was paid a second time; an admin will look at it.")
        % {"method": payment.get_provider_display(), "id": payment.pk})
    return Applied(payment)


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
        # crediting is the second confirmation of a risk hold; a banned customer's money stays frozen
        verdict = _risk(payment, stage="approve", confirmed_by=by)
        if verdict.frozen:
            raise PaymentsError(_("This payment is frozen: its customer is banned. Lift the ban first."))
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
