"""Referrals: linking a new customer to whoever invited them, and the inviter's reward on the
friend's first paid order (credited to the wallet once, announced as referral_rewarded)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from .. import events, messaging, risk
from ..formatting import money
from ..models import Customer, Order, ReferralReward, WalletTransaction
from .wallet import wallet_apply

_BOUGHT = (Order.Status.PAID, Order.Status.REFUNDED)


def customer_apply_referral(*, customer: Customer, code: str) -> bool:
    """Link a new customer to whoever invited them; refused quietly for oneself, for a
    second referrer, and for a customer who has already bought."""
    referrer = Customer.objects.filter(referral_code=code).exclude(pk=customer.pk).first()
    if referrer is None or customer.referred_by_id or referrer.referred_by_id == customer.pk:
        return False
    if Order.objects.filter(customer=customer, status__in=_BOUGHT).exists():
        return False
    updated = Customer.objects.filter(pk=customer.pk, referred_by__isnull=True).update(referred_by=referrer)
    if updated:
        customer.referred_by = referrer
    return bool(updated)


def referral_reward(customer: Customer, order: Order) -> None:
    """Inside the checkout transaction: reward the inviter for the customer's first paid order,
    unless the risk checks hold it (then nothing now: referral_reward_release grants it later)."""
    if not customer.referred_by_id or order.paid_amount <= 0:
        return
    if Order.objects.filter(customer=customer, status__in=_BOUGHT).exclude(pk=order.pk).exists():
        return
    amount = order.paid_amount * settings.REFERRAL_REWARD_PERCENT // 100
    if amount <= 0 or ReferralReward.objects.filter(referred=customer).exists():
        return
    verdict = risk.risk_assess(subject="referral", customer=customer, stage="reward", order=order,
                               referrer_id=customer.referred_by_id, amount=amount)
    if verdict.held:
        return
    _grant(customer, order, amount)


def referral_reward_release(*, referred_id: int, order_id: int) -> ReferralReward | None:
    """A held reward granted after all (an operator released it): once, and only while the
    order is still paid. None when there is nothing to grant."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=referred_id)
        order = Order.objects.filter(pk=order_id, customer=customer, status=Order.Status.PAID).first()
        if not customer.referred_by_id or order is None or ReferralReward.objects.filter(referred=customer).exists():
            return None
        amount = order.paid_amount * settings.REFERRAL_REWARD_PERCENT // 100
        if amount <= 0:
            return None
        return _grant(customer, order, amount)


def _grant(customer: Customer, order: Order, amount: int) -> ReferralReward:
    reward = ReferralReward.objects.create(referrer_id=customer.referred_by_id, referred=customer, order=order, amount=amount)
    wallet_apply(customer_id=customer.referred_by_id, amount=amount, reason=WalletTransaction.Reason.REFERRAL,
                 source=f"referral:{customer.pk}", note=f"invited {customer}")
    referrer = Customer.objects.get(pk=customer.referred_by_id)
    events.emit("referral_rewarded", customer=referrer, referred_id=customer.pk, amount=amount, reward_id=reward.pk)
    messaging.notify_customer(
        referrer, kind="referral_reward", dedup_key=f"referral:{customer.pk}", context={"amount": amount},
        text=lambda: _("🎁 A friend you invited made their first purchase: %(amount)s was added to your wallet.")
        % {"amount": money(amount)})
    return reward
