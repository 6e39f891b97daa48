"""The rules: each looks at one subject with a few indexed queries (never a loop over rows)
and, when it fires, adds its score with a readable reason. An operator turns a rule on or off,
and tunes its score and thresholds, in the admin (RiskRule); DEFAULTS are what a migration
writes and what a missing threshold falls back to. docs/antifraud.md describes each one."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connections, router
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vpnbot.shop.formatting import money
from vpnbot.shop.models import Customer, Order, Payment, Trial
from vpnbot.shop.provisioning import get_provisioner

from .models import RiskRule

# key: (score, thresholds). Scores add up (at most 100); ANTIFRAUD_FLAG_SCORE and
# ANTIFRAUD_HOLD_SCORE turn the total into an action.
DEFAULTS: dict[str, tuple[int, dict]] = {
    "duplicate_photo": (80, {"same_customer_score": 30}),
    "similar_photo": (60, {"max_distance": 6}),
    "topup_velocity": (40, {"per_hour": 3, "per_day": 6}),
    "purchase_velocity": (30, {"per_hour": 5, "per_day": 15}),
    "new_account": (20, {"hours": 24}),
    "unusual_amount": (30, {"factor": 5, "min_history": 3}),
    "referral_burst": (70, {"count": 5, "minutes": 60}),
    "referral_no_buyers": (40, {"min_referees": 10, "max_buyer_percent": 10}),
    "referral_loop": (80, {"depth": 6}),
    "trial_new_account": (30, {"hours": 1}),
    "trial_same_referrer": (70, {"count": 3, "hours": 24}),
    "refund_used": (70, {"used_percent": 80}),
    "refund_repeat": (70, {"count": 2, "days": 90}),
}

SUBJECT_RULES = {
    "payment": ("duplicate_photo", "similar_photo", "topup_velocity", "new_account", "unusual_amount"),
    "online_payment": ("purchase_velocity", "new_account"),
    "referral": ("referral_burst", "referral_no_buyers", "referral_loop", "purchase_velocity"),
    "trial": ("trial_new_account", "trial_same_referrer"),
    "refund": ("refund_used", "refund_repeat"),
}
BOUGHT = (Order.Status.PAID, Order.Status.REFUNDED)


@dataclass(frozen=True)
class Rule:
    key: str
    score: int
    params: dict

    def param(self, name: str) -> int:
        default = DEFAULTS.get(self.key, (0, {}))[1].get(name, 0)
        try:
            return max(int(self.params.get(name, default)), 0)
        except (TypeError, ValueError):
            return default


@dataclass(frozen=True)
class Hit:
    rule: str
    score: int
    reason: str


_cache: dict = {"at": None, "rules": None}


def enabled_rules() -> dict[str, Rule]:
    """The rules switched on, with the admin's scores and thresholds: one query, then kept in
    this process for ANTIFRAUD_RULES_CACHE_SECONDS (a rule saved here clears it at once)."""
    ttl = settings.ANTIFRAUD_RULES_CACHE_SECONDS
    now = time.monotonic()
    if ttl > 0 and _cache["rules"] is not None and now - _cache["at"] < ttl:
        return _cache["rules"]
    stored = {r.key: r for r in RiskRule.objects.all()}
    rules = {}
    for key, (score, params) in DEFAULTS.items():
        row = stored.get(key)
        if row is None:
            rules[key] = Rule(key, score, params)
        elif row.enabled:
            rules[key] = Rule(key, min(row.score, 100), {**params, **(row.params or {})})
    if ttl > 0:
        _cache.update(at=now, rules=rules)
    return rules


def forget_rules(**_kwargs) -> None:
    """Read the rules' settings again on the next assessment (connected to RiskRule's saves)."""
    _cache.update(at=None, rules=None)


def _age(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 1:
        minutes = max(int(delta.total_seconds() // 60), 0)
        return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}


def _ordinal(n: int) -> str:
    return _("no. %(n)s") % {"n": n}


# --- receipts and payments ---------------------------------------------------------------------------

def receipt_history(customer: Customer, payment: Payment, now, *, velocity: bool = True, amounts: bool = True,
                    also: tuple[str, list] | None = None) -> dict:
    """What the receipt rules read of the customer's other payments, in one statement on the
    customer's index: how many in the last hour and day, and how many approved at what average
    amount. `also` = (SQL columns, their parameters): the caller's own questions about the
    customer, asked in the same statement (their answers under "also"). Asked on every receipt,
    so it is SQL written once (the ORM spent more time building the aggregate than the database
    answering it)."""
    if not (velocity or amounts or also):
        return {}
    connection = connections[router.db_for_read(Payment)]
    extra, extra_params = also or ("", [])
    sql = _HISTORY.get((connection.vendor, extra))
    if sql is None:
        quote = connection.ops.quote_name
        created, status, amount = quote("created_at"), quote("status"), quote("amount")
        sql = _HISTORY[(connection.vendor, extra)] = (
            f"SELECT {extra + ', ' if extra else ''}"
            f"COUNT(CASE WHEN {created} >= %s THEN 1 END), COUNT(CASE WHEN {created} >= %s THEN 1 END),"
            f" COUNT(CASE WHEN {status} = %s THEN 1 END), AVG(CASE WHEN {status} = %s THEN {amount} END)"
            f" FROM {quote(Payment._meta.db_table)} WHERE {quote('customer_id')} = %s AND {quote('id')} <> %s")
    adapt = connection.ops.adapt_datetimefield_value
    approved = Payment.Status.APPROVED.value
    with connection.cursor() as cursor:
        cursor.execute(sql, [*extra_params, adapt(now - timedelta(hours=1)), adapt(now - timedelta(days=1)), approved,
                             approved, customer.pk, payment.pk or 0])
        row = cursor.fetchone()
    answers, (hour, day, n, avg) = row[:len(extra_params)], row[len(extra_params):]
    return {"hour": hour or 0, "day": day or 0, "n": n or 0, "avg": avg, "also": tuple(answers)}


_HISTORY: dict[tuple[str, str], str] = {}


def topup_velocity(rule: Rule, history: dict) -> Hit | None:
    last_hour, last_day = (history["hour"] or 0) + 1, (history["day"] or 0) + 1
    if rule.param("per_hour") and last_hour > rule.param("per_hour"):
        return Hit(rule.key, rule.score, _("top-up %(nth)s in the last hour") % {"nth": _ordinal(last_hour)})
    if rule.param("per_day") and last_day > rule.param("per_day"):
        return Hit(rule.key, rule.score, _("top-up %(nth)s in the last 24 hours") % {"nth": _ordinal(last_day)})
    return None


def purchase_velocity(rule: Rule, customer: Customer, now, recent: dict | None = None) -> Hit | None:
    recent = recent or recent_orders(customer.pk, now)
    last_hour, last_day = recent["hour"], recent["day"]
    if rule.param("per_hour") and last_hour > rule.param("per_hour"):
        return Hit(rule.key, rule.score, _("%(n)s purchases in the last hour") % {"n": last_hour})
    if rule.param("per_day") and last_day > rule.param("per_day"):
        return Hit(rule.key, rule.score, _("%(n)s purchases in the last 24 hours") % {"n": last_day})
    return None


def _recent_orders(customer_id: int, now, also: tuple[str, list] | None = None) -> tuple[int, int, tuple]:
    """(orders bought in the last hour, in the last 24 hours, the answers to `also`): one
    statement on the customer's index, written once (asked on every online payment); `also` as
    in receipt_history."""
    connection = connections[router.db_for_read(Order)]
    extra, extra_params = also or ("", [])
    sql = _ORDERS.get((connection.vendor, extra))
    if sql is None:
        quote = connection.ops.quote_name
        created = quote("created_at")
        sql = _ORDERS[(connection.vendor, extra)] = (
            f"SELECT {extra + ', ' if extra else ''}COUNT(CASE WHEN {created} >= %s THEN 1 END), COUNT(*)"
            f" FROM {quote(Order._meta.db_table)}"
            f" WHERE {quote('customer_id')} = %s AND {quote('status')} IN (%s, %s) AND {created} >= %s")
    adapt = connection.ops.adapt_datetimefield_value
    day = adapt(now - timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*extra_params, adapt(now - timedelta(hours=1)), customer_id,
                             *[s.value for s in BOUGHT], day])
        row = cursor.fetchone()
    hour, total = row[len(extra_params):]
    return hour or 0, total or 0, tuple(row[:len(extra_params)])


def recent_orders(customer_id: int, now, also: tuple[str, list] | None = None) -> dict:
    """receipt_history's counterpart for purchases: {"hour", "day", "also"}."""
    hour, day, answers = _recent_orders(customer_id, now, also)
    return {"hour": hour, "day": day, "also": answers}


_ORDERS: dict[tuple[str, str], str] = {}


def new_account(rule: Rule, customer: Customer, now) -> Hit | None:
    age = now - customer.joined_at
    if age < timedelta(hours=rule.param("hours")):
        return Hit(rule.key, rule.score, _("account %(age)s old") % {"age": _age(age)})
    return None


def unusual_amount(rule: Rule, amount: int, history: dict) -> Hit | None:
    factor = rule.param("factor")
    if factor < 2 or not history["n"] or history["n"] < rule.param("min_history") or not history["avg"]:
        return None
    usual = int(history["avg"])
    if amount >= usual * factor or amount * factor <= usual:
        return Hit(rule.key, rule.score, _("amount %(amount)s far from this customer's usual %(usual)s") % {
            "amount": money(amount), "usual": money(usual)})
    return None


# --- referrals -------------------------------------------------------------------------------------

def referral_burst(rule: Rule, referrer_id: int, now) -> Hit | None:
    minutes = rule.param("minutes")
    recent = Customer.objects.filter(referred_by_id=referrer_id, joined_at__gte=now - timedelta(minutes=minutes)).count()
    if rule.param("count") and recent >= rule.param("count"):
        return Hit(rule.key, rule.score, _("the inviter brought %(n)s new accounts within %(minutes)s minutes") % {
            "n": recent, "minutes": minutes})
    return None


def referral_no_buyers(rule: Rule, referrer_id: int) -> Hit | None:
    referees = Customer.objects.filter(referred_by_id=referrer_id).count()
    if referees < max(rule.param("min_referees"), 1):
        return None
    buyers = (Order.objects.filter(customer__referred_by_id=referrer_id, status__in=BOUGHT)
              .values("customer_id").distinct().count())
    if buyers * 100 <= referees * rule.param("max_buyer_percent"):
        return Hit(rule.key, rule.score, _("only %(buyers)s of the inviter's %(n)s invited accounts ever bought") % {
            "buyers": buyers, "n": referees})
    return None


def referral_loop(rule: Rule, customer: Customer, referrer_id: int) -> Hit | None:
    """Up the chain of inviters from the referrer (one indexed lookup a step): back to the
    customer, or round in a circle, is a loop."""
    seen = {customer.pk}
    current = referrer_id
    for _step in range(max(rule.param("depth"), 1)):
        if current is None:
            return None
        if current in seen:
            return Hit(rule.key, rule.score, _("the chain of invitations loops back to this customer"))
        seen.add(current)
        current = Customer.objects.filter(pk=current).values_list("referred_by_id", flat=True).first()
    return None


# --- trials ----------------------------------------------------------------------------------------

def trial_same_referrer(rule: Rule, customer: Customer, now) -> Hit | None:
    if not customer.referred_by_id:
        return None
    hours = rule.param("hours")
    trials = Trial.objects.filter(customer__referred_by_id=customer.referred_by_id,
                                  created_at__gte=now - timedelta(hours=hours)).count() + 1
    if rule.param("count") and trials >= rule.param("count"):
        return Hit(rule.key, rule.score, _("trial %(nth)s in %(hours)s hours by accounts of the same inviter") % {
            "nth": _ordinal(trials), "hours": hours})
    return None


# --- refunds ---------------------------------------------------------------------------------------

def refund_used(rule: Rule, order: Order, at) -> Hit | None:
    """Most of the service time, or most of its traffic (as its panel last reported it), used."""
    sub = getattr(order, "subscription", None)
    if sub is None:
        return None
    total = (sub.expires_at - sub.starts_at).total_seconds()
    if total > 0:
        used = min(max((at - sub.starts_at).total_seconds() / total, 0), 1) * 100
        if used >= rule.param("used_percent"):
            return Hit(rule.key, rule.score, _("%(percent)s%% of the service time was used before the refund") % {
                "percent": int(used)})
    info = get_provisioner().account_info([sub]).get(sub.pk)
    if info is not None and info.limit_bytes and info.used_bytes is not None:
        traffic = min(info.used_bytes * 100 // info.limit_bytes, 100)
        if traffic >= rule.param("used_percent"):
            return Hit(rule.key, rule.score, _("%(percent)s%% of the traffic was used before the refund") % {
                "percent": traffic})
    return None


def refund_repeat(rule: Rule, customer: Customer, order: Order, at) -> Hit | None:
    days = rule.param("days")
    before = (Order.objects.filter(customer=customer, status=Order.Status.REFUNDED,
                                   refunded_at__gte=at - timedelta(days=days)).exclude(pk=order.pk).count())
    if rule.param("count") and before >= rule.param("count"):
        return Hit(rule.key, rule.score, _("refund %(nth)s within %(days)s days") % {
            "nth": _ordinal(before + 1), "days": days})
    return None


def evaluate(subject: str, customer: Customer, facts: dict, rules: dict[str, Rule], now) -> list[Hit]:
    """The hits of every enabled rule on this subject (the photo rules run elsewhere: the
    duplicate at submit, under its unique key, and the near-duplicate once the image is hashed)."""
    hits: list[Hit | None] = []
    rule = rules.get
    if subject == "payment" and facts.get("stage") == "submit":
        payment = facts["payment"]
        history = facts.get("history") or receipt_history(customer, payment, now, velocity="topup_velocity" in rules,
                                                          amounts="unusual_amount" in rules)
        if rule("topup_velocity"):
            hits.append(topup_velocity(rules["topup_velocity"], history))
        if rule("new_account"):
            hits.append(new_account(rules["new_account"], customer, now))
        if rule("unusual_amount"):
            hits.append(unusual_amount(rules["unusual_amount"], payment.amount, history))
    elif subject == "online_payment":
        if rule("purchase_velocity"):
            hits.append(purchase_velocity(rules["purchase_velocity"], customer, now, facts.get("orders")))
        if rule("new_account"):
            hits.append(new_account(rules["new_account"], customer, now))
    elif subject == "referral":
        referrer_id = facts.get("referrer_id")
        if rule("referral_burst"):
            hits.append(referral_burst(rules["referral_burst"], referrer_id, now))
        if rule("referral_no_buyers"):
            hits.append(referral_no_buyers(rules["referral_no_buyers"], referrer_id))
        if rule("referral_loop"):
            hits.append(referral_loop(rules["referral_loop"], customer, referrer_id))
        if rule("purchase_velocity"):
            hits.append(purchase_velocity(rules["purchase_velocity"], customer, now))
    elif subject == "trial":
        if rule("trial_new_account"):
            hits.append(new_account(rules["trial_new_account"], customer, now))
        if rule("trial_same_referrer"):
            hits.append(trial_same_referrer(rules["trial_same_referrer"], customer, now))
    elif subject == "refund":
        at = facts.get("at") or now
        if rule("refund_used"):
            hits.append(refund_used(rules["refund_used"], facts["order"], at))
        if rule("refund_repeat"):
            hits.append(refund_repeat(rules["refund_repeat"], customer, facts["order"], at))
    return [hit for hit in hits if hit is not None]
