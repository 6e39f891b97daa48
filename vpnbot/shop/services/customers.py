"""Customers: registration on first contact (with a random referral code), the chosen language,
and the chat a customer blocked. Lookups (find, operators) are in selectors."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import events
from ..models import Customer
from .errors import ShopError


def _new_referral_code() -> str:
    return secrets.token_hex(4)


def customer_sync(*, telegram_id: int, username: str = "", first_name: str = "", last_name: str = "",
                  language_code: str = "") -> tuple[Customer, bool]:
    """The customer for a Telegram user, created on first contact; names kept current."""
    fields = {"username": (username or "")[:64], "first_name": (first_name or "")[:128],
              "last_name": (last_name or "")[:128], "telegram_language": (language_code or "")[:16]}
    customer = Customer.objects.filter(telegram_id=telegram_id).first()
    created = False
    for _attempt in range(5):
        if customer is not None:
            break
        try:
            with transaction.atomic():
                customer = Customer.objects.create(telegram_id=telegram_id, referral_code=_new_referral_code(),
                                                   last_seen_at=timezone.now(), **fields)
                events.emit("registered", customer=customer)
                created = True
        except IntegrityError:
            # Another worker made this customer first, or (rarely, with many customers) the
            # random referral code was taken: then try again with a new one.
            customer = Customer.objects.filter(telegram_id=telegram_id).first()
    if customer is None:
        raise RuntimeError(f"could not create the customer for Telegram user {telegram_id}")
    changed = {k: v for k, v in fields.items() if getattr(customer, k) != v}
    now = timezone.now()
    if customer.blocked_at:
        changed["blocked_at"] = None
    if changed or not customer.last_seen_at or now - customer.last_seen_at > timedelta(minutes=5):
        changed["last_seen_at"] = now
        Customer.objects.filter(pk=customer.pk).update(**changed)
        for key, value in changed.items():
            setattr(customer, key, value)
    return customer, created


def customer_set_language(*, customer: Customer, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ShopError(_("Unknown language."))
    Customer.objects.filter(pk=customer.pk).update(language=language)
    customer.language = language


def on_chat_blocked(sender=None, *, chat_id, description="", **kwargs) -> None:
    """The transport met a 403 for this chat: remember the customer blocked the bot."""
    if not isinstance(chat_id, int) or chat_id <= 0:
        return
    with transaction.atomic():
        updated = Customer.objects.filter(telegram_id=chat_id, blocked_at__isnull=True).update(blocked_at=timezone.now())
        if updated:
            customer = Customer.objects.get(telegram_id=chat_id)
            events.emit("bot_blocked", customer=customer, description=description[:200])
