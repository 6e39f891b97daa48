"""What the CRM plugs into other apps, which never import it: the `segment` predicate of the
discounts' condition engine and one audience per segment in the shop's audience registry."""

from __future__ import annotations

import logging
from functools import partial

from django.core.exceptions import ValidationError

from discounts import conditions
from vpnbot.shop import audiences
from vpnbot.shop.models import Customer

from .models import Segment, UserProfile

log = logging.getLogger(__name__)


def segment_validate(argument) -> None:
    """{"segment": "at_risk"} or {"segment": ["at_risk", "churned"]}."""
    values = argument if isinstance(argument, list) else [argument]
    if not values:
        raise ValidationError("give a segment or a list of segments")
    for value in values:
        if value not in Segment.values:
            raise ValidationError(f"unknown segment {value!r}; known: {', '.join(Segment.values)}")


def segment_evaluate(argument, ctx: dict) -> bool:
    customer = ctx.get("customer")
    if customer is None or getattr(customer, "pk", None) is None:
        return False
    cache = ctx.setdefault("cache", {}) if isinstance(ctx, dict) else {}
    key = ("crm_segment", customer.pk)
    if key not in cache:
        cache[key] = UserProfile.objects.filter(customer_id=customer.pk).values_list("segment", flat=True).first()
    values = argument if isinstance(argument, list) else [argument]
    return cache[key] in values


def segment_customers(segment: str):
    return Customer.objects.filter(crm_profile__segment=segment)


def register() -> None:
    """Called once from the app's ready()."""
    conditions.register_predicate("segment", segment_evaluate, segment_validate)
    for key, label in Segment.choices:  # offered to whoever sends to many (broadcasts, …)
        audiences.register_audience(f"crm_{key}", label, partial(segment_customers, key))
