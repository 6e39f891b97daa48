"""Domain events: recorded in the transaction of the change and handed to subscribers there.

The feature systems subscribe (the CRM records activity, notifications write their outbox),
so the shop never imports them. A subscriber runs inside the caller's transaction: what it
writes commits or rolls back with the change itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from .models import Customer, DomainEvent

NAMES = (
    "registered", "topup_submitted", "payment_approved", "payment_rejected", "order_paid",
    "subscription_extended", "subscription_expired", "order_refunded", "referral_rewarded",
    "command_used", "bot_blocked", "config_delivered", "subscription_changed", "traffic_bought", "trial_started",
    "customer_banned", "customer_unbanned",  # an operator's ban (the anti-fraud app), payload: why
)
_subscribers: dict[str, list[Callable]] = defaultdict(list)


def subscribe(name: str, fn: Callable[[DomainEvent], None]) -> None:
    """Call fn(event) for every event `name` ("*" for all)."""
    if name != "*" and name not in NAMES:
        raise ValueError(f"unknown event {name!r}")
    if fn not in _subscribers[name]:
        _subscribers[name].append(fn)


def emit(name: str, *, customer: Customer | None, record: bool = True, **payload) -> DomainEvent:
    assert name in NAMES, name
    event = DomainEvent(name=name, customer=customer, payload=payload)
    if record:
        event.save()
    for fn in _subscribers[name] + _subscribers["*"]:
        fn(event)
    return event
