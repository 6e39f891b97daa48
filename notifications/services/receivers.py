"""What the notifications app does when the shop reports something (subscribed in ready()):
a customer blocked the bot, a subscription expired."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from vpnbot.shop.models import Subscription

from .. import types
from ..models import Notification
from .outbox import full_key, notifications_cancel_for_customer


def on_bot_blocked(event) -> None:
    if event.customer_id:
        notifications_cancel_for_customer(customer_id=event.customer_id, reason="customer blocked the bot")


def on_subscription_expired(event) -> None:
    """The shop marked a subscription expired: tell the customer (once per period); not for an
    account a reseller bought for one of their customers (the reseller manages it)."""
    if not settings.ENABLE_AUTO_NOTIFICATIONS or event.customer is None:
        return
    sub_id = (event.payload or {}).get("subscription_id")
    sub = Subscription.objects.filter(pk=sub_id).first() if sub_id else None
    if sub is None or sub.resold or Subscription.objects.filter(renewed_from=sub).exists():
        return
    key = full_key(types.SERVICE_EXPIRED, event.customer_id, f"{sub.pk}:x:{int(sub.expires_at.timestamp())}")
    now = timezone.now()
    Notification.objects.bulk_create([Notification(
        customer_id=event.customer_id, chat_id=event.customer.telegram_id, type=types.SERVICE_EXPIRED,
        dedup_key=key, object_id=sub.pk, source="event", scheduled_for=now, created_at=now)], ignore_conflicts=True)
