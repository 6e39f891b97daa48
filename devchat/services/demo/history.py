"""Six months of a shop, lived through the shop's own services on a settable clock: customers
join (some invited by others), send card receipts that are approved or rejected, buy plans
(some with a discount code), renew or drift away, now and then get a refund; cashback and
expiry run every night as the beat would run them. Every step is drawn from one seeded random
generator, so the same seed tells the same story (relative to today)."""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from discounts.services import cashback_credit_due
from vpnbot.shop import services as shop
from vpnbot.shop.models import Customer, Plan

from .clock import Clock
from .people import person

DAYS = 180
FIRST_TELEGRAM_ID = 6_100_000_000
REJECTIONS = ["The receipt is unreadable", "The amount on the receipt is different", "This receipt was already used",
              "No transfer with this tracking number arrived"]
REFUND_REASONS = ["Does not connect on my network", "Bought the wrong plan", "Moving abroad"]


@dataclass
class Tally:
    customers: int = 0
    referred: int = 0
    receipts_approved: int = 0
    receipts_rejected: int = 0
    orders: int = 0
    renewals: int = 0
    refunds: int = 0
    with_code: int = 0


@dataclass(order=True)
class _Step:
    at: datetime
    number: int
    action: str = field(compare=False)
    customer_id: int = field(compare=False, default=0)
    data: dict = field(compare=False, default_factory=dict)


class Story:
    def __init__(self, *, clock: Clock, customers: int, seed: int, code: str):
        self.clock = clock
        self.random = random.Random(seed)
        self.count = customers
        self.code = code
        self.now = timezone.now()
        self.start = self.now - timedelta(days=DAYS)
        self.plans = list(Plan.objects.filter(is_active=True).order_by("price_amount"))
        self.queue: list[_Step] = []
        self.numbers = itertools.count()
        self.keys = itertools.count(1)
        self.tally = Tally()
        self.joined: list[int] = []

    # -- the calendar ------------------------------------------------------------------------------------
    def later(self, at: datetime, action: str, customer_id: int = 0, **data) -> None:
        if at < self.now:
            heapq.heappush(self.queue, _Step(at, next(self.numbers), action, customer_id, data))

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.random.uniform(low, high))

    def run(self) -> Tally:
        for i in range(self.count):
            # more customers lately: a shop that grows
            share = 1 - self.random.random() ** 1.6
            self.later(self.start + timedelta(days=DAYS * share) - self.minutes(0, 60), "join", number=i)
        day = self.start.replace(hour=21, minute=0, second=0, microsecond=0)
        while day < self.now:
            self.later(day, "night")
            day += timedelta(days=2)
        while self.queue:
            step = heapq.heappop(self.queue)
            self.clock.at(step.at)
            getattr(self, f"_{step.action}")(step)
        self.clock.at(self.now)
        self._night(None)
        return self.tally

    # -- what happens ------------------------------------------------------------------------------------
    def _night(self, step) -> None:
        """The beat's work of the night (every other night here: it costs time and changes little):
        cashback that came due, services that ran out."""
        cashback_credit_due()
        shop.subscription_expire_due()

    def _join(self, step: _Step) -> None:
        number = step.data["number"]
        first, last, language = person(self.random, number)
        customer, _created = shop.customer_sync(
            telegram_id=FIRST_TELEGRAM_ID + number * 7, first_name=first, last_name=last, language_code=language,
            username=f"{first.lower()}_{number}" if first.isascii() and self.random.random() < 0.6 else "")
        self.tally.customers += 1
        if self.joined and self.random.random() < 0.22:
            referrer = Customer.objects.get(pk=self.random.choice(self.joined[-80:]))
            if shop.customer_apply_referral(customer=customer, code=referrer.referral_code):
                self.tally.referred += 1
        self.joined.append(customer.pk)
        if self.random.random() < 0.8:  # a fifth look around and never pay
            plan = self.random.choices(self.plans, weights=[5, 3, 2, 2][:len(self.plans)])[0]
            self.later(step.at + self.minutes(3, 3 * 24 * 60), "topup", customer.pk, plan_id=plan.pk)

    def _topup(self, step: _Step) -> None:
        plan = Plan.objects.get(pk=step.data["plan_id"])
        balance = Customer.objects.values_list("balance_amount", flat=True).get(pk=step.customer_id)
        needed = max(plan.price_amount - balance, 0)
        extra = self.random.choice([0, 0, 0, 50_000, 100_000])
        amount = max(((needed + extra + 9_999) // 10_000) * 10_000, 50_000)
        key = next(self.keys)
        payment = shop.payment_submit(customer=Customer.objects.get(pk=step.customer_id), amount=amount,
                                      receipt_file_id=f"demo-receipt-{key}", receipt_unique_id=f"demo-{key}")
        self.later(step.at + self.minutes(2, 240), "review", step.customer_id, payment_id=payment.pk, plan_id=plan.pk,
                   retry=step.data.get("retry", 0), renewal=step.data.get("renewal", False))

    def _review(self, step: _Step) -> None:
        if self.random.random() < 0.1:
            shop.payment_reject(payment_id=step.data["payment_id"], reviewer="@demo_admin",
                                reason=self.random.choice(REJECTIONS))
            self.tally.receipts_rejected += 1
            if step.data["retry"] < 1 and self.random.random() < 0.7:
                self.later(step.at + self.minutes(20, 24 * 60), "topup", step.customer_id, plan_id=step.data["plan_id"],
                           retry=1)
            return
        shop.payment_approve(payment_id=step.data["payment_id"], reviewer="@demo_admin", confirm=True)
        self.tally.receipts_approved += 1
        self.later(step.at + self.minutes(1, 40), "buy", step.customer_id, plan_id=step.data["plan_id"],
                   renewal=step.data.get("renewal", False))

    def _buy(self, step: _Step) -> None:
        plan = Plan.objects.get(pk=step.data["plan_id"])
        renewal = step.data.get("renewal", False)
        code = self.code if not renewal and self.random.random() < 0.12 else ""
        try:
            checkout = shop.order_checkout(customer_id=step.customer_id, plan_id=plan.pk, quantity=1,
                                           idempotency_key=f"demo:{next(self.keys)}", code=code)
        except shop.InsufficientBalance:
            self.later(step.at + self.minutes(5, 600), "topup", step.customer_id, plan_id=plan.pk)
            return
        except shop.ShopError:
            return
        order = checkout.order
        self.tally.orders += 1
        self.tally.renewals += renewal
        self.tally.with_code += bool(order.quote.get("code")) if isinstance(order.quote, dict) else 0
        if self.random.random() < 0.03 and order.paid_amount:
            self.later(step.at + self.minutes(60, 3 * 24 * 60), "refund", step.customer_id, order_id=order.pk)
            return
        if self.random.random() < 0.68:  # renews a little before the end; the others drift away
            ends = order.subscription.expires_at
            self.later(ends - self.minutes(0, 3 * 24 * 60), "renew", step.customer_id, plan_id=plan.pk)

    def _renew(self, step: _Step) -> None:
        balance = Customer.objects.values_list("balance_amount", flat=True).get(pk=step.customer_id)
        plan = Plan.objects.get(pk=step.data["plan_id"])
        if balance >= plan.price_amount:
            self.later(step.at + self.minutes(1, 10), "buy", step.customer_id, plan_id=plan.pk, renewal=True)
        else:
            self.later(step.at + self.minutes(1, 10), "topup", step.customer_id, plan_id=plan.pk, renewal=True)

    def _refund(self, step: _Step) -> None:
        try:
            shop.order_refund(order_id=step.data["order_id"], mode="prorata", reason=self.random.choice(REFUND_REASONS),
                              by="@demo_admin", confirm=True)
            self.tally.refunds += 1
        except shop.ShopError:
            pass
