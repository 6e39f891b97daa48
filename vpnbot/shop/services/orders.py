"""Orders: the checkout (pay a plan from the wallet, once per idempotency key, with the discount
code a confirmation keeps on the server) and refunds back to the wallet, in full or pro rata."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import events, messaging, pricing, risk
from ..formatting import money
from ..models import CheckoutCode, Customer, Order, Plan, Subscription, WalletTransaction
from .errors import InsufficientBalance, QuoteChanged, RiskHeld, ShopError
from .plans import check_order_terms, plan_get_active, validate_quantity
from .referrals import referral_reward
from .subscriptions import subscription_for_order, subscription_provision
from .wallet import wallet_apply

CHECKOUT_CODE_TTL = timedelta(days=1)


def checkout_code_keep(*, customer_id: int, key: str, code: str) -> None:
    """Remember the discount code of a confirmation (its Pay button has no room for it);
    the customer's codes older than a day are forgotten on the way."""
    now = timezone.now()
    CheckoutCode.objects.filter(customer_id=customer_id, created_at__lt=now - CHECKOUT_CODE_TTL).delete()
    CheckoutCode.objects.update_or_create(customer_id=customer_id, key=key, defaults={"code": code[:32], "created_at": now})


def checkout_code_get(*, customer_id: int, key: str) -> str:
    """The code kept for this confirmation; ShopError when it is unknown or too old."""
    row = CheckoutCode.objects.filter(customer_id=customer_id, key=key,
                                      created_at__gte=timezone.now() - CHECKOUT_CODE_TTL).first()
    if row is None:
        raise ShopError(_("This confirmation has expired. Start again with /buy."))
    return row.code


@dataclass
class Checkout:
    order: Order
    created: bool  # False: this confirmation was already used


def order_checkout(*, customer_id: int, plan_id: int, quantity: int, idempotency_key: str,
                   code: str = "", expected_total: int | None = None, at: datetime | None = None) -> Checkout:
    """Pay for a plan from the wallet and create or extend the subscription, all in one
    transaction. The same idempotency key buys once."""
    quantity = validate_quantity(quantity)
    if not idempotency_key or len(idempotency_key) > 80:
        raise ShopError(_("This confirmation is not valid. Start again with /buy."))
    existing = Order.objects.filter(idempotency_key=idempotency_key).first()
    if existing:
        return Checkout(existing, False)
    plan = plan_get_active(plan_id)
    check_order_terms(plan, quantity)
    try:
        with transaction.atomic():
            customer = Customer.objects.select_for_update().get(pk=customer_id)
            existing = Order.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return Checkout(existing, False)
            quote = pricing.price_quote(customer, plan, quantity, at, code=code)
            if expected_total is not None and quote.total_amount != expected_total:
                raise QuoteChanged(quote)
            total = quote.total_amount
            if customer.balance_amount < total:
                raise InsufficientBalance(total - customer.balance_amount)
            now = timezone.now()
            order = Order.objects.create(
                customer=customer, plan=plan, quantity=quantity, list_amount=quote.list_amount,
                discount_amount=quote.list_amount - total, paid_amount=total, status=Order.Status.PAID,
                idempotency_key=idempotency_key, quote=quote.as_dict(), created_at=now, paid_at=now)
            pricing.redeem(order, quote)
            wallet_apply(customer_id=customer.pk, amount=-total, reason=WalletTransaction.Reason.PURCHASE,
                         source=f"order:{order.pk}", note=f"{plan.name} × {quantity}")
            subscription = subscription_for_order(order, now)
            events.emit("order_paid", customer=customer, order_id=order.pk, plan_id=plan.pk, amount=total,
                        list_amount=quote.list_amount, quantity=quantity, subscription_id=subscription.pk,
                        renewal=bool(subscription.renewed_from_id), cashback_amount=quote.cashback_amount)
            referral_reward(customer, order)
    except IntegrityError:
        existing = Order.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return Checkout(existing, False)
        if not Plan.objects.filter(pk=plan.pk).exists():  # deleted while this order was being made
            raise ShopError(_("This plan is not available any more. See /plans.")) from None
        raise
    transaction.on_commit(partial(subscription_provision, subscription_id=subscription.pk))
    return Checkout(order, True)


def order_place_paid(*, customer: Customer, plan: Plan, quote: pricing.Quote, idempotency_key: str,
                     resale_label: str = "", renew: Subscription | None = None, allow_credit: bool = False,
                     now: datetime | None = None) -> tuple[Order, Subscription]:
    """Inside the caller's transaction, with the customer's row locked: a paid order at the
    quote the caller made (a reseller's, with price_quote(resale=True)), debited from the wallet
    (within the credit limit when allow_credit), and its subscription: a resold account of its
    own (resale_label) or the renewal of `renew`. The quote's discounts are redeemed; no
    referral reward is paid; order_paid is announced with resale=True. Provisioning starts
    after commit."""
    now = now or timezone.now()
    total = quote.total_amount
    order = Order.objects.create(
        customer=customer, plan=plan, quantity=quote.quantity, list_amount=quote.list_amount,
        discount_amount=quote.list_amount - total, paid_amount=total, status=Order.Status.PAID,
        idempotency_key=idempotency_key, quote=quote.as_dict(), created_at=now, paid_at=now)
    pricing.redeem(order, quote)
    wallet_apply(customer_id=customer.pk, amount=-total, reason=WalletTransaction.Reason.PURCHASE,
                 source=f"order:{order.pk}", note=f"{plan.name} × {quote.quantity}", allow_credit=allow_credit)
    subscription = subscription_for_order(order, now, renew=renew, resale_label=resale_label)
    events.emit("order_paid", customer=customer, order_id=order.pk, plan_id=plan.pk, amount=total,
                list_amount=quote.list_amount, quantity=quote.quantity, subscription_id=subscription.pk,
                renewal=bool(subscription.renewed_from_id), cashback_amount=quote.cashback_amount,
                resale=quote.resale)
    transaction.on_commit(partial(subscription_provision, subscription_id=subscription.pk))
    return order, subscription


# --- refunds ---------------------------------------------------------------------------------------

def order_refund_amount(order: Order, *, mode: str, at: datetime | None = None) -> int:
    at = at or timezone.now()
    remaining = order.paid_amount - order.refunded_amount
    if mode == "full":
        return remaining
    if mode != "prorata":
        raise ShopError(_("Refund mode must be full or prorata."))
    sub = getattr(order, "subscription", None)
    if sub is None:
        return remaining
    total = (sub.expires_at - sub.starts_at).total_seconds()
    unused = (sub.expires_at - max(at, sub.starts_at)).total_seconds()
    if total <= 0 or unused <= 0:
        return 0
    return min(remaining, int(order.paid_amount * unused // total))


def order_refund(*, order_id: int, mode: str = "full", reason: str, by: str, at: datetime | None = None,
                 confirm: bool = False) -> Order:
    """Refund a paid order to the wallet (in full or for the unused days), cut the
    subscription short, and announce order_refunded so discounts and cashback unwind.
    A refund of nothing (the time is used up, or nothing was paid) is refused. The risk checks
    are asked first: a held refund raises RiskHeld unless confirm=True (the second look)."""
    reason = (reason or "").strip()
    if not reason:
        raise ShopError(_("Please give a reason for the refund."))
    at = at or timezone.now()
    order = Order.objects.select_related("customer").filter(pk=order_id, status=Order.Status.PAID).first()
    amount = order_refund_amount(order, mode=mode, at=at) if order is not None else 0
    if amount > 0:  # a refund of nothing is refused below, whatever the checks say
        verdict = risk.risk_assess(subject="refund", customer=order.customer, stage="refund", order=order, mode=mode,
                                   amount=amount, by=by, confirmed_by=by if confirm else "", at=at)
        if verdict.frozen or (verdict.held and not confirm):
            raise RiskHeld(verdict)
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("customer", "plan").get(pk=order_id)
        if order.status != Order.Status.PAID:
            raise ShopError(_("Only a paid order can be refunded (this one is %(status)s).") % {"status": order.get_status_display()})
        amount = order_refund_amount(order, mode=mode, at=at)
        if amount > order.paid_amount - order.refunded_amount:
            raise ShopError(_("A refund cannot exceed what was paid."))
        if amount <= 0:  # order_refunded would make discounts and cashback unwind for nothing given back
            if order.paid_amount - order.refunded_amount <= 0:
                raise ShopError(_("Nothing to refund: nothing was paid for this order."))
            raise ShopError(_("Nothing to refund: the service time of this order is used up "
                              "(a full refund would still pay it back)."))
        Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED, refunded_amount=F("refunded_amount") + amount,
                                                 refunded_at=at, refund_reason=reason[:255])
        wallet_apply(customer_id=order.customer_id, amount=amount, reason=WalletTransaction.Reason.REFUND,
                     source=f"refund:{order.pk}", note=reason[:200])
        Subscription.objects.filter(order=order, status=Subscription.Status.ACTIVE).update(
            status=Subscription.Status.CANCELLED, expires_at=at)
        events.emit("order_refunded", customer=order.customer, order_id=order.pk, amount=amount, reason=reason, by=by)
        messaging.notify_customer(
            order.customer, kind="order_refunded", dedup_key=f"refund:{order.pk}",
            context={"amount": amount, "order_id": order.pk, "reason": reason},
            text=lambda: _("↩️ Order #%(id)s was refunded: %(amount)s went back to your wallet.\nReason: %(reason)s")
            % {"id": order.pk, "amount": money(amount), "reason": reason})
        order.refresh_from_db()
    return order
