"""Redemption inside the checkout's transaction (the redeemer registered with the shop): each
used discount counted once under its limits, the cashback booked, and uses given back on refund."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from vpnbot.shop import pricing
from vpnbot.shop.models import Customer
from vpnbot.shop.services import QuoteChanged

from ..models import CashbackRule, CashbackTransaction, DiscountUsage, SmartDiscount
from .calendars import birthday_ok, customer_zone
from .facts import Facts
from .quote import excluding, within_customer_limit
from .rules import Kind, enabled


def _quoted_at(quote) -> datetime:
    return datetime.fromisoformat(quote.at) if quote.at else timezone.now()


def _requote(order, quote, exhausted: set[int]):
    with excluding(exhausted):
        return pricing.price_quote(order.customer, order.plan, quote.quantity, _quoted_at(quote), code=quote.code,
                                   resale=quote.resale)


def discount_redeem(order, quote) -> None:
    """The redeemer registered with the shop: records each used discount (DiscountUsage),
    counts it with a conditional UPDATE, and aborts the checkout (QuoteChanged with a new
    quote) when a limit was reached meanwhile. Also books the cashback."""
    refs = []
    for applied in quote.discounts:
        if applied.ref.startswith("discount:") and applied.ref[9:].isdigit():
            refs.append((int(applied.ref[9:]), applied.amount))
    if refs:
        # The checkout already holds this lock; taken again so the per-customer limits hold
        # for any caller.
        Customer.objects.select_for_update().filter(pk=order.customer_id).first()
        discounts = {d.pk: d for d in SmartDiscount.objects.filter(pk__in=[pk for pk, _a in refs])}
        customer = order.customer
        facts = Facts(usage={row["discount_id"]: (row["n"], row["last"]) for row in
                             DiscountUsage.objects.filter(customer_id=order.customer_id, released_at__isnull=True,
                                                          discount_id__in=list(discounts))
                             .values("discount_id").annotate(n=Count("id"), last=Max("created_at")).order_by()})
        local = _quoted_at(quote).astimezone(customer_zone(customer))
        exhausted = set()
        for pk, amount in refs:
            discount = discounts.get(pk)
            if discount is None or (not birthday_ok(discount, customer, local, facts) if discount.kind == Kind.BIRTHDAY
                                    else not within_customer_limit(discount, facts)):
                exhausted.add(pk)
                continue
            counted = (SmartDiscount.objects.filter(pk=pk, status=SmartDiscount.Status.ACTIVE)
                       .filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
                       .update(used_count=F("used_count") + 1))
            if not counted:
                exhausted.add(pk)
                continue
            DiscountUsage.objects.create(discount_id=pk, customer_id=order.customer_id, order=order, amount=amount)
        if exhausted:
            raise QuoteChanged(_requote(order, quote, exhausted))
    if quote.cashback_amount > 0 and enabled():
        rule_id = getattr(quote, "cashback_rule_id", None)
        rule = CashbackRule.objects.filter(pk=rule_id).first() if rule_id else None
        delay = rule.delay_days if rule else settings.DEFAULT_CASHBACK_DELAY_DAYS
        CashbackTransaction.objects.get_or_create(order=order, defaults={
            "customer_id": order.customer_id, "rule": rule, "amount": quote.cashback_amount,
            "due_at": (order.paid_at or timezone.now()) + timedelta(days=max(0, delay))})


def usage_release(*, order_id: int) -> int:
    """Give back the discount uses of a refunded or cancelled order (each once)."""
    released = 0
    with transaction.atomic():
        for usage in DiscountUsage.objects.filter(order_id=order_id, released_at__isnull=True):
            if DiscountUsage.objects.filter(pk=usage.pk, released_at__isnull=True).update(released_at=timezone.now()):
                SmartDiscount.objects.filter(pk=usage.discount_id, used_count__gt=0).update(used_count=F("used_count") - 1)
                released += 1
    return released
