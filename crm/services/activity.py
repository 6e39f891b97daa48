"""Activity: every meaningful shop event becomes one UserActivity row (one INSERT at most),
and an order that used an offer's code marks the offer used."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from vpnbot.shop.models import Order

from ..models import PersonalizedOffer, UserActivity

log = logging.getLogger(__name__)
K = UserActivity.Kind

# shop domain event -> activity kind (order_paid is handled apart: order, renewal, discount)
EVENT_KINDS = {
    "registered": K.REGISTERED,
    "topup_submitted": K.TOPUP_SUBMITTED,
    "payment_approved": K.TOPUP,
    "payment_rejected": K.TOPUP_REJECTED,
    "subscription_expired": K.EXPIRY,
    "order_refunded": K.REFUND,
    "referral_rewarded": K.REFERRAL,
    "bot_blocked": K.BOT_BLOCKED,
    "config_delivered": K.CONFIG,
}
PLAN_COMMANDS = {"plans", "buy"}


def crm_enabled() -> bool:
    return bool(settings.ENABLE_CRM)


def activity_from_event(event) -> None:
    """Subscriber of every shop domain event (called inside the change's transaction)."""
    if not crm_enabled() or event.customer is None:
        return
    payload = event.payload or {}
    now = event.created_at or timezone.now()
    customer_id = event.customer.pk
    if event.name == "order_paid":
        order_id = payload.get("order_id")
        amount = int(payload.get("amount") or 0)
        list_amount = int(payload.get("list_amount") or 0)
        kind = K.RENEWAL if payload.get("renewal") else K.ORDER
        rows = [UserActivity(customer_id=customer_id, kind=kind, ref=f"order:{order_id}", amount=amount, created_at=now)]
        if list_amount > amount:
            rows.append(UserActivity(customer_id=customer_id, kind=K.DISCOUNT_USED, ref=f"order:{order_id}",
                                     amount=list_amount - amount, created_at=now))
            _mark_offer_used(customer_id, order_id, now)
        UserActivity.objects.bulk_create(rows)  # one INSERT statement
        return
    if event.name == "command_used":
        command = str(payload.get("command") or "").lower()[:40]
        if command:
            UserActivity.objects.create(customer_id=customer_id, kind=K.PLANS_VIEWED if command in PLAN_COMMANDS
                                        else K.COMMAND, ref="/" + command, created_at=now)
        return
    kind = EVENT_KINDS.get(event.name)
    if kind is None:
        return
    ref = ""
    for key in ("order_id", "payment_id", "subscription_id", "referred_id"):
        if payload.get(key) is not None:
            ref = f"{key[:-3]}:{payload[key]}"
            break
    amount = payload.get("amount")
    UserActivity.objects.create(customer_id=customer_id, kind=kind, ref=ref[:64],
                                amount=int(amount) if isinstance(amount, int) else None, created_at=now)


def _mark_offer_used(customer_id: int, order_id, now) -> None:
    """A discounted order that used an offer's code: the offer is spent."""
    code = (Order.objects.filter(pk=order_id).values_list("quote", flat=True).first() or {}).get("code") or ""
    if code:
        PersonalizedOffer.objects.filter(customer_id=customer_id, status=PersonalizedOffer.Status.ACTIVE,
                                         code__iexact=code).update(
            status=PersonalizedOffer.Status.USED, used_at=now, order_id=order_id)


def activity_record(*, customer, kind: str, ref: str = "", amount: int | None = None) -> UserActivity | None:
    if not crm_enabled() or customer is None:
        return None
    return UserActivity.objects.create(customer=customer, kind=kind, ref=(ref or "")[:64], amount=amount)

