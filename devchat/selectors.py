"""What the local chat page reads of the shop: its customers, as the Telegram users they are."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from vpnbot.shop.models import Customer


def customer_exists(telegram_id: int) -> bool:
    return Customer.objects.filter(telegram_id=telegram_id).exists()


def _as_user(customer: Customer) -> dict:
    user = {"id": customer.telegram_id, "is_bot": False, "first_name": customer.first_name or str(customer.telegram_id),
            "language_code": customer.language or customer.telegram_language or settings.LANGUAGE_CODE}
    if customer.last_name:
        user["last_name"] = customer.last_name
    if customer.username:
        user["username"] = customer.username
    return user


def person_for(telegram_id: int) -> dict | None:
    """The customer with this Telegram id as a Telegram user; an admin who is no customer yet
    as one with only a name; None for anybody else."""
    customer = Customer.objects.filter(telegram_id=telegram_id).first()
    if customer is not None:
        return _as_user(customer)
    from vpnbot.transport.permissions import admin_chat_ids

    if telegram_id in admin_chat_ids():
        return {"id": telegram_id, "is_bot": False, "first_name": f"Admin {telegram_id}",
                "language_code": settings.LANGUAGE_CODE}
    return None


def customers_matching(search: str, *, limit: int = 30) -> list[dict]:
    """Customers whose name, username or Telegram id matches, the latest seen first."""
    rows = Customer.objects.order_by("-last_seen_at", "-id")
    search = (search or "").strip().lstrip("@")
    if search:
        query = Q(first_name__icontains=search) | Q(last_name__icontains=search) | Q(username__icontains=search)
        if search.isdigit():
            query |= Q(telegram_id=int(search))
        rows = rows.filter(query)
    return [_as_user(c) for c in rows[:limit]]
