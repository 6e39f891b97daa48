"""Read-only queries of the shop: customers, plans, the wallet history, payments, subscriptions.
Handlers, the admin and the API read through these; every change goes through services/."""

from __future__ import annotations

from django.utils import timezone

from .models import Customer, Payment, Plan, Subscription, WalletTransaction

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
    """The customer's subscriptions running now, oldest first."""
    now = timezone.now()
    return list(Subscription.objects.filter(customer=customer, status=Subscription.Status.ACTIVE, expires_at__gt=now)
                .select_related("plan").order_by("starts_at"))


def subscription_config(subscription_id: int) -> str:
    """The config stored for a subscription now."""
    return Subscription.objects.values_list("config", flat=True).get(pk=subscription_id)
