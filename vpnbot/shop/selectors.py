"""Read-only queries of the shop: customers, plans, the wallet history, payments, subscriptions.
Handlers, the admin and the API read through these; every change goes through services/."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Sum
from django.utils import timezone

from .models import Customer, Payment, Plan, ReferralReward, Subscription, TrafficPack, Trial, WalletTransaction

# --- customers ----------------------------------------------------------------------------------


def customer_fresh(customer_id: int) -> Customer:
    """The customer as stored now (balance included)."""
    return Customer.objects.get(pk=customer_id)


def customer_find(query: str) -> Customer | None:
    """By Telegram id or @username."""
    query = (query or "").strip()
    number = query.removeprefix("-")
    if number.isascii() and number.isdigit() and len(number) <= 18:
        return Customer.objects.filter(telegram_id=int(query)).first()
    if query.startswith("@") and len(query) > 1:
        return Customer.objects.filter(username__iexact=query[1:]).first()
    return None


def customer_is_operator(telegram_id: int) -> bool:
    return Customer.objects.filter(telegram_id=telegram_id, is_operator=True).exists()


def operator_chat_ids() -> list[int]:
    return list(Customer.objects.filter(is_operator=True, blocked_at__isnull=True).values_list("telegram_id", flat=True))


@dataclass(frozen=True)
class ReferralSummary:
    joined: int  # customers who came with this customer's link
    rewarded: int  # of them, those whose first purchase earned a reward
    earned_amount: int


def referral_summary(customer: Customer) -> ReferralSummary:
    joined = Customer.objects.filter(referred_by=customer).count()
    rewards = ReferralReward.objects.filter(referrer=customer).aggregate(n=Count("id"), total=Sum("amount"))
    return ReferralSummary(joined=joined, rewarded=rewards["n"] or 0, earned_amount=rewards["total"] or 0)


# --- wallet ----------------------------------------------------------------------------------------


def wallet_history(*, customer: Customer, limit: int = 10) -> list[WalletTransaction]:
    """The customer's latest ledger rows, newest first."""
    return list(WalletTransaction.objects.filter(customer=customer).order_by("-id")[:limit])


# --- plans -------------------------------------------------------------------------------------------


def plan_list_active() -> list[Plan]:
    return list(Plan.objects.filter(is_active=True))


def plan_active(plan_id: int) -> Plan | None:
    """The plan if it is on sale, else None."""
    return Plan.objects.filter(pk=plan_id, is_active=True).first()


# --- payments and subscriptions ----------------------------------------------------------------------


def payment_get(payment_id: int) -> Payment | None:
    return Payment.objects.select_related("customer").filter(pk=payment_id).first()


def subscriptions_for(customer: Customer) -> list[Subscription]:
    """The customer's own subscriptions running now, oldest first (not the accounts a reseller
    bought for their customers: those are managed in the reseller's menu)."""
    now = timezone.now()
    return list(Subscription.objects.filter(customer=customer, status=Subscription.Status.ACTIVE, expires_at__gt=now,
                                            resold=False)
                .select_related("plan").order_by("starts_at"))


def subscription_config(subscription_id: int) -> str:
    """The config stored for a subscription now."""
    return Subscription.objects.values_list("config", flat=True).get(pk=subscription_id)


@dataclass
class Service:
    """One running service as the customer sees it: a chain of renewals, the one running now
    first (a renewal waiting to start belongs to it) and the chain's end."""

    current: Subscription
    expires_at: datetime
    members: list[Subscription] = field(default_factory=list)


def services_for(customer: Customer) -> list[Service]:
    """The customer's running services, one per chain of renewals, oldest first."""
    found: list[Service] = []
    by_subscription: dict[int, Service] = {}
    for sub in subscriptions_for(customer):  # oldest first: a renewal comes after the one it follows
        service = by_subscription.get(sub.renewed_from_id) if sub.renewed_from_id else None
        if service is None:
            service = Service(current=sub, expires_at=sub.expires_at)
            found.append(service)
        service.members.append(sub)
        service.expires_at = max(service.expires_at, sub.expires_at)
        by_subscription[sub.pk] = service
    return found


def subscription_running(customer: Customer, subscription_id) -> Subscription | None:
    """The customer's own subscription if it is running (or paid and waiting to start), else
    None (a resold account is not one of the customer's own services)."""
    return (Subscription.objects.select_related("customer", "plan")
            .filter(pk=subscription_id, customer=customer, status=Subscription.Status.ACTIVE,
                    expires_at__gt=timezone.now(), resold=False).first())


# --- extra traffic and the trial ----------------------------------------------------------------------


def traffic_packs_on_sale() -> list[TrafficPack]:
    return list(TrafficPack.objects.filter(is_active=True))


def trial_taken(customer: Customer) -> bool:
    return Trial.objects.filter(customer=customer).exists()
