"""One shop's autumn, made with the shop's own services at frozen Tehran times, for the
reports' tests: Aban 1405 (2026-10-23 .. 2026-11-21) and Azar 1405 (2026-11-22 .. 2026-12-21),
with events minutes either side of the Tehran midnight that is also the month boundary
(1405/08/30 24:00 = 2026-11-21 20:30 UTC), and of another midnight inside Azar.

Plans: Monthly 100,000 (30 days), Quarterly 270,000 (90 days). Discounts: first purchase 20 %
(every first buyer), promo code FREE100 (100 %, one use). Cashback: 5 % by default, credited at
once; 10 % on the Quarterly plan, credited 7 days later. Referral reward 10 % of the friend's
first order. Risk checks off (the anti-fraud app has its own tests).

The numbers every test checks are worked out by hand in test_figures.py; the comments here
say what each step leaves in the wallets."""

from __future__ import annotations

import itertools
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

import jdatetime
import time_machine
from django.utils import timezone

from discounts import services as discounts
from discounts.models import SmartDiscount
from panels.models import Panel, PanelAccount
from payments import services as payments
from payments.models import Payment as OnlinePayment
from resellers.services import management as resellers
from resellers.services.buying import reseller_buy
from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop import services as shop
from vpnbot.shop.models import Customer, Order, Subscription

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
_keys = itertools.count(1)


def tehran(jy: int, jm: int, jd: int, hour: int = 12, minute: int = 0) -> datetime:
    """The aware instant of a Jalali date and a Tehran wall-clock time."""
    day = jdatetime.date(jy, jm, jd).togregorian()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TEHRAN)


def story_settings(settings) -> None:
    settings.TIME_ZONE = "Asia/Tehran"
    settings.LANGUAGE_CODE = "en"
    settings.ENABLE_SMART_DISCOUNTS = True
    settings.ENABLE_ANTIFRAUD = False
    settings.ENABLE_RESELLERS = True
    settings.MIN_PRICE_PERCENT = 0
    settings.DEFAULT_CASHBACK_PERCENT = 5
    settings.DEFAULT_CASHBACK_DELAY_DAYS = 0
    settings.REFERRAL_REWARD_PERCENT = 10
    settings.REPORTS_CHURN_DAYS = 14


@dataclass
class Story:
    monthly: object = None
    quarterly: object = None
    germany: Panel | None = None
    finland: Panel | None = None
    who: dict[str, Customer] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    subs: dict[str, Subscription] = field(default_factory=dict)
    receipts: dict[str, object] = field(default_factory=dict)
    stars: OnlinePayment | None = None
    reseller: object = None

    def customer(self, name: str) -> Customer:
        return Customer.objects.get(pk=self.who[name].pk)


def _join(story: Story, name: str, when: datetime, **extra) -> Customer:
    with time_machine.travel(when, tick=False):
        customer = CustomerFactory(username=name.lower(), first_name=name, language="en", balance_amount=0,
                                   joined_at=timezone.now(), **extra)
    story.who[name] = customer
    return customer


def _topup(story: Story, name: str, amount: int, when: datetime, key: str) -> None:
    """A card receipt sent and approved a minute later."""
    with time_machine.travel(when, tick=False):
        receipt = shop.payment_submit(customer=story.customer(name), amount=amount, receipt_file_id=f"photo-{key}",
                                      receipt_unique_id=f"u-{key}")
    with time_machine.travel(when.replace(second=30), tick=False):
        shop.payment_approve(payment_id=receipt.pk, reviewer="owner")
    story.receipts[key] = receipt


def _buy(story: Story, name: str, plan, when: datetime, key: str, code: str = "") -> Order:
    with time_machine.travel(when, tick=False):
        order = shop.order_checkout(customer_id=story.who[name].pk, plan_id=plan.pk, quantity=1,
                                    idempotency_key=f"story-{next(_keys)}", code=code).order
    story.orders[key] = order
    story.subs[key] = Subscription.objects.get(order=order)
    return order


def _account(story: Story, key: str, panel: Panel) -> None:
    PanelAccount.objects.create(subscription=story.subs[key], panel=panel, name=f"acc-{key}",
                                status=PanelAccount.Status.PENDING)


def build(settings) -> Story:
    story_settings(settings)
    s = Story()
    with time_machine.travel(tehran(1405, 7, 20), tick=False):
        s.monthly = PlanFactory(name="Monthly", price_amount=100_000, duration_days=30)
        s.quarterly = PlanFactory(name="Quarterly", price_amount=270_000, duration_days=90)
        s.germany = Panel.objects.create(name="Germany", kind=Panel.Kind.MARZBAN)
        s.finland = Panel.objects.create(name="Finland", kind=Panel.Kind.MARZBAN)
        discounts.discount_create(kind=SmartDiscount.Kind.FIRST_PURCHASE, percent_bp=2000, title="Welcome",
                                  per_customer_limit=None)
        discounts.discount_create(kind=SmartDiscount.Kind.CODE, percent_bp=10000, code="FREE100", max_uses=1,
                                  title="Free month")
        discounts.cashback_rule_create(percent_bp=1000, plans=[s.quarterly], delay_days=7, title="Quarterly 10 %")

    # --- Aban 1405 ----------------------------------------------------------------------------
    # D: 200,000 in; first Monthly at 80,000 (20 % off), 4,000 cashback -> 124,000
    _join(s, "D", tehran(1405, 8, 1, 8, 0))
    _topup(s, "D", 200_000, tehran(1405, 8, 1, 8, 5), "D1")
    _buy(s, "D", s.monthly, tehran(1405, 8, 1, 8, 10), "D1")  # D1: 08/01 08:10 .. 09/01 08:10
    _account(s, "D1", s.germany)
    # A: 300,000 in; first Monthly at 80,000, 4,000 cashback -> 224,000
    _join(s, "A", tehran(1405, 8, 5, 10, 0))
    _topup(s, "A", 300_000, tehran(1405, 8, 5, 10, 5), "A1")
    _buy(s, "A", s.monthly, tehran(1405, 8, 5, 10, 10), "A1")  # A1: 08/05 10:10 .. 09/05 10:10
    _account(s, "A1", s.germany)
    # R: a reseller, 30 % off the list price, may owe up to 300,000
    _join(s, "R", tehran(1405, 8, 10, 9, 0))
    with time_machine.travel(tehran(1405, 8, 10, 9, 5), tick=False):
        s.reseller = resellers.reseller_promote(customer_id=s.who["R"].pk, by="owner", discount_bp=3000,
                                                credit_limit_amount=300_000)
    # E: the 100 % code on the first Monthly (FREE100 beats the 20 %): nothing paid, no cashback
    _join(s, "E", tehran(1405, 8, 20, 12, 0))
    _buy(s, "E", s.monthly, tehran(1405, 8, 20, 12, 0), "E1", code="FREE100")  # E1: .. 09/20 12:00
    # D renews early: full price 100,000, 5,000 cashback -> 29,000; D2 follows D1 to 10/01 08:10
    _buy(s, "D", s.monthly, tehran(1405, 8, 28, 12, 0), "D2")
    PanelAccount.objects.filter(subscription=s.subs["D1"]).update(subscription=s.subs["D2"])  # the chain's latest
    # B, ten minutes before the Tehran midnight that ends Aban: 250,000 in, first Quarterly at
    # 216,000 (54,000 off), its 21,600 cashback due in 7 days -> 34,000
    _join(s, "B", tehran(1405, 8, 30, 23, 40))
    _topup(s, "B", 250_000, tehran(1405, 8, 30, 23, 45), "B1")
    _buy(s, "B", s.quarterly, tehran(1405, 8, 30, 23, 50), "B1")  # B1: 08/30 23:50, 90 days
    _account(s, "B1", s.germany)

    # --- Azar 1405 ----------------------------------------------------------------------------
    # C, invited by A, minutes after that midnight (still 2026-11-21 in UTC): 100,000 in, first
    # Monthly at 80,000, 4,000 cashback -> 24,000; A gets 8,000 for the invitation -> 232,000
    _join(s, "C", tehran(1405, 9, 1, 0, 5))
    shop.customer_apply_referral(customer=s.customer("C"), code=s.who["A"].referral_code)
    _topup(s, "C", 100_000, tehran(1405, 9, 1, 0, 10), "C1")
    _buy(s, "C", s.monthly, tehran(1405, 9, 1, 0, 15), "C1")
    _account(s, "C1", s.finland)
    # R buys two Monthly accounts for resale at 70,000 each, on credit -> -140,000
    with time_machine.travel(tehran(1405, 9, 1, 10, 0), tick=False):
        purchase = reseller_buy(reseller_id=s.reseller.pk, plan_id=s.monthly.pk, quantity=2,
                                idempotency_key="story-resale", labels=["shop 1", "shop 2"])
    for number, account in enumerate(purchase.accounts, start=1):
        s.subs[f"R{number}"] = account.subscription
        s.orders[f"R{number}"] = account.subscription.order
    # F pays a Monthly with Telegram Stars: the invoice opened five minutes before midnight, the
    # payment credited five minutes after it (an admin credits it). 80,000 in by Stars, the
    # order at 80,000 (first purchase), 4,000 cashback -> 4,000
    _join(s, "F", tehran(1405, 9, 5, 23, 50))
    with time_machine.travel(tehran(1405, 9, 5, 23, 55), tick=False):
        s.stars = OnlinePayment.objects.create(
            provider=OnlinePayment.Provider.STARS, customer=s.customer("F"), purpose=OnlinePayment.Purpose.ORDER,
            amount=80_000, currency="XTR", provider_amount=80_000, provider_payment_id="charge-F", plan=s.monthly,
            quantity=1, expected_total=80_000, status=OnlinePayment.Status.HELD)
    with time_machine.travel(tehran(1405, 9, 6, 0, 5), tick=False):
        applied = payments.payment_credit_held(payment_id=s.stars.pk, by="owner", reason="seen at Telegram")
    s.orders["F1"] = applied.order
    s.subs["F1"] = Subscription.objects.get(order=applied.order)  # 09/06 00:05 .. 10/06 00:05
    _account(s, "F1", s.finland)
    # B's Quarterly cashback comes due on 09/07 23:50; the beat job credits it at 09/08 00:30
    with time_machine.travel(tehran(1405, 9, 8, 0, 30), tick=False):
        discounts.cashback_credit_due()  # B: 34,000 + 21,600 = 55,600
    # C's order refunded in full: 80,000 back, the 4,000 cashback taken back -> 100,000
    with time_machine.travel(tehran(1405, 9, 10, 12, 0), tick=False):
        shop.order_refund(order_id=s.orders["C1"].pk, mode="full", reason="does not connect", by="owner")
    # B's Quarterly refunded pro rata after 18 of its 90 days: 216,000 x 72/90 = 172,800 back;
    # of the 21,600 cashback the same share, 17,280, is taken back -> 55,600 + 172,800 - 17,280
    with time_machine.travel(tehran(1405, 9, 18, 23, 50), tick=False):
        shop.order_refund(order_id=s.orders["B1"].pk, mode="prorata", reason="moving abroad", by="owner")
    # E's free month ended on 09/20; E comes back five days later: 100,000 in, Monthly at full
    # price, 5,000 cashback -> 5,000
    _topup(s, "E", 100_000, tehran(1405, 9, 25, 11, 0), "E2")
    _buy(s, "E", s.monthly, tehran(1405, 9, 25, 12, 0), "E2")
    # A (Monthly ended on 09/05, not renewed) comes back 23 days later for a Quarterly: 100,000
    # in, 270,000 out; its 27,000 cashback due on 10/05 20:00, after Azar -> 62,000
    _topup(s, "A", 100_000, tehran(1405, 9, 28, 19, 0), "A2")
    _buy(s, "A", s.quarterly, tehran(1405, 9, 28, 20, 0), "A2")

    # --- Dey 1405 -----------------------------------------------------------------------------
    # D tops up 50,000 -> 79,000; A's cashback credited on 10/06 -> 89,000
    _topup(s, "D", 50_000, tehran(1405, 10, 2, 10, 0), "D2")
    with time_machine.travel(tehran(1405, 10, 6, 9, 0), tick=False):
        discounts.cashback_credit_due()
    return s


# when the reports are read: 1405/10/07 12:00 in Tehran
NOW = tehran(1405, 10, 7, 12, 0)
