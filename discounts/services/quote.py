"""The quote engine, registered with the shop's price_quote: which discounts apply to a
customer's order, how they combine above the price floor, and which cashback it earns."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.conf import settings
from django.utils import translation

from vpnbot.shop import pricing

from .. import conditions
from ..models import CashbackRule, SmartDiscount
from .calendars import birthday_ok, calendar_name, customer_zone, in_hours_at, in_season, month_day
from .candidates import cached, candidates
from .facts import Facts, condition_context, customer_facts
from .rules import Kind, discount_label, enabled

_excluded: contextvars.ContextVar[frozenset] = contextvars.ContextVar("discounts_excluded", default=frozenset())


@contextlib.contextmanager
def excluding(discount_ids: Iterable[int]) -> Iterator[None]:
    """Quotes made inside leave these discounts out (a re-quote after their limit was reached)."""
    token = _excluded.set(_excluded.get() | frozenset(discount_ids))
    try:
        yield
    finally:
        _excluded.reset(token)


def conditions_hold(discount: SmartDiscount | CashbackRule, ctx: dict) -> bool:
    if not discount.conditions:
        return True
    compiled = discount.__dict__.get("_compiled_conditions")
    if compiled is None:
        compiled = discount.__dict__["_compiled_conditions"] = conditions.compile_tree(discount.conditions)
    return compiled(ctx)


def within_customer_limit(discount: SmartDiscount, facts: Facts) -> bool:
    if discount.per_customer_limit is None:
        return True
    return facts.usage.get(discount.pk, (0, None))[0] < discount.per_customer_limit


def bulk_tier(discount: SmartDiscount, quantity: int, amount: int) -> dict | None:
    value = amount if discount.params.get("basis", "quantity") == "amount" else quantity
    best = None
    for tier in discount.params.get("tiers", []):
        if value >= tier["min"] and (best is None or tier["min"] > best["min"]):
            best = tier
    return best


def discount_amount_on(discount: SmartDiscount, base: int, *, quantity: int, list_amount: int) -> int:
    """What this discount takes off `base` (rounded down, capped, never more than base)."""
    if discount.kind == Kind.BULK:
        tier = bulk_tier(discount, quantity, list_amount) or {}
        percent_bp, fixed = tier.get("percent_bp"), tier.get("fixed_amount")
    else:
        percent_bp, fixed = discount.percent_bp, discount.fixed_amount
    amount = base * percent_bp // 10000 if percent_bp else (fixed or 0)
    if discount.cap_amount is not None:
        amount = min(amount, discount.cap_amount)
    return max(0, min(amount, base))


def min_total(list_amount: int) -> int:
    floor_bp = int(round(float(settings.MIN_PRICE_PERCENT or 0) * 100))
    floor_bp = max(0, min(floor_bp, 10000))
    return -(-list_amount * floor_bp // 10000)


def choose(applicable: list[SmartDiscount], *, list_amount: int, quantity: int,
           base: int | None = None) -> list[tuple[SmartDiscount, int]]:
    """Combine deterministically: the best single non-stackable discount (ties: higher
    priority, then lower id) first, then stackable ones by priority (high first, then id),
    each on the running total, which starts at `base` (the list price unless given: a
    reseller's price); the floor is never crossed."""
    floor = min_total(list_amount)
    start = list_amount if base is None else base
    exclusive = [d for d in applicable if not d.stackable]
    sequence = []
    if exclusive:
        best = max(exclusive, key=lambda d: (discount_amount_on(d, start, quantity=quantity, list_amount=list_amount),
                                             d.priority, -d.id))
        sequence.append(best)
    sequence += sorted((d for d in applicable if d.stackable), key=lambda d: (-d.priority, d.id))
    running, chosen = start, []
    for discount in sequence:
        amount = min(discount_amount_on(discount, running, quantity=quantity, list_amount=list_amount), running - floor)
        if amount > 0:
            chosen.append((discount, amount))
            running -= amount
    return chosen


def select_applicable(found: list[SmartDiscount], *, customer, facts: Facts, local: datetime, quantity: int, amount: int,
                      ctx: dict, excluded=frozenset()) -> list[SmartDiscount]:
    """The discounts that apply (kind rule, per-customer limit, condition tree), in one tight
    loop: the quote's hot path, see bench/discounts."""
    now, weekday = local.time().replace(tzinfo=None), local.weekday()
    paid, level, usage = facts.paid_orders, facts.level, facts.usage
    birth_month = customer.birth_month if customer is not None else None
    in_birth_month = bool(birth_month) and month_day(local.date(), calendar_name())[1] == birth_month
    result = []
    for d in found:
        if d.id in excluded:
            continue
        kind = d.kind
        if kind == "birthday":
            if in_birth_month and birthday_ok(d, customer, local, facts) and conditions_hold(d, ctx):
                result.append(d)
            continue
        if kind == "hourly":
            if not in_hours_at(d, now, weekday):
                continue
        elif kind == "first_purchase":
            if paid:
                continue
        elif kind == "bulk":
            if bulk_tier(d, quantity, amount) is None:
                continue
        elif kind == "loyalty":
            if level not in d.params.get("levels", ()):
                continue
        elif kind == "seasonal":
            if not in_season(d, local):
                continue
        limit = d.per_customer_limit
        if limit is not None and d.id in usage and usage[d.id][0] >= limit:
            continue
        if d.conditions and not conditions_hold(d, ctx):
            continue
        result.append(d)
    return result


def discount_quote(quote, *, customer, plan, at: datetime, code: str = "") -> None:
    """The price adjuster registered with the shop's price_quote."""
    if not enabled() or customer is None:
        return
    language = customer.effective_language
    facts = pricing.memo(("discounts:facts", customer.pk), lambda: customer_facts(customer))
    excluded = _excluded.get()
    local = at.astimezone(customer_zone(customer))
    ctx = condition_context(customer=customer, plan=plan, quantity=quote.quantity, amount=quote.list_amount, at=at,
                            facts=facts)
    cache = pricing.memo("discounts:cached", cached)
    found = pricing.memo(("discounts:candidates", customer.pk, at, code),
                         lambda: candidates(customer=customer, at=at, code=code, cache=cache))
    applicable = select_applicable(found, customer=customer, facts=facts,
                                   local=local, quantity=quote.quantity, amount=quote.list_amount, ctx=ctx,
                                   excluded=excluded)
    base = None
    if quote.resale:
        # a reseller's purchase for their customers: only the discounts meant for resellers,
        # off the reseller's price (the resellers' adjuster runs first); never cashback
        applicable = [d for d in applicable if d.for_resellers]
        base = quote.total_amount
    with translation.override(language):
        for discount, amount in choose(applicable, list_amount=quote.list_amount, quantity=quote.quantity, base=base):
            quote.discounts.append(pricing.AppliedDiscount(label=discount_label(discount), amount=amount,
                                                           ref=f"discount:{discount.pk}"))
            if code and discount.code and discount.code.lower() == code.lower():
                quote.code_applied = True
    if quote.resale:
        return
    rule, cashback = cashback_for(customer=customer, plan=plan, base=quote.total_amount, at=at, ctx=ctx,
                                  rules=cache["rules"])
    quote.cashback_amount = cashback
    quote.cashback_rule_id = rule.pk if rule else None


def cashback_for(*, customer, plan, base: int, at: datetime, ctx: dict, rules: list | None = None) -> tuple[CashbackRule | None, int]:
    """The best matching CashbackRule, or DEFAULT_CASHBACK_PERCENT when none matches."""
    if base <= 0:
        return None, 0
    customer_id = customer.pk if customer is not None else None
    best, best_amount = None, -1
    for rule in (rules if rules is not None else cached()["rules"]):
        if rule.customer_id not in (None, customer_id) or rule.starts_at > at or (rule.ends_at and rule.ends_at <= at):
            continue
        if rule.min_amount > base or (rule.plan_ids and (plan is None or plan.pk not in rule.plan_ids)):
            continue
        if rule.conditions and not conditions_hold(rule, ctx):
            continue
        amount = base * rule.percent_bp // 10000 if rule.percent_bp else (rule.fixed_amount or 0)
        if rule.cap_amount is not None:
            amount = min(amount, rule.cap_amount)
        amount = min(amount, base)  # never more back than was paid (a rule stored out of bounds, too)
        if amount > best_amount or (amount == best_amount and best is not None and rule.pk < best.pk):
            best, best_amount = rule, amount
    if best is not None:
        return best, best_amount
    percent_bp = int(round(float(settings.DEFAULT_CASHBACK_PERCENT or 0) * 100))
    return None, base * min(max(percent_bp, 0), 10000) // 10000  # 0-100 % whatever the setting says
