"""Helpers shared by the discounts tests: moments in Tehran (Gregorian or Jalali), a quote at a
frozen moment, a checkout in one call, and refunded orders with cashback for the statistics."""

from datetime import datetime
from zoneinfo import ZoneInfo

import jdatetime
import time_machine

from discounts import services
from tests.discounts.factories import CustomerFactory, PlanFactory, SmartDiscountFactory
from vpnbot.shop.services import order_checkout, order_refund, price_quote, wallet_apply

TEHRAN = ZoneInfo("Asia/Tehran")


def local(*args):
    return datetime(*args, tzinfo=TEHRAN)


def jalali(y, m, d, hour=12):
    g = jdatetime.date(y, m, d).togregorian()
    return datetime(g.year, g.month, g.day, hour, tzinfo=TEHRAN)


def quote_at(customer, plan, moment, quantity=1, code=""):
    with time_machine.travel(moment, tick=False):
        return price_quote(customer, plan, quantity, code=code)


def buy(customer, plan, key, quantity=1, code="", expected_total=None):
    return order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=quantity, idempotency_key=key, code=code,
                          expected_total=expected_total).order


def refunded_orders_with_cashback():
    """Two orders paying 90 000 with 4 500 cashback each, both refunded: the first taken back
    in full, the second from a wallet left with 1 000 (3 500 not recovered)."""
    plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(percent_bp=1000)
    first = order_checkout(customer_id=CustomerFactory.with_balance(500_000).pk, plan_id=plan.pk, quantity=1,
                           idempotency_key="r1").order
    order_refund(order_id=first.pk, reason="test", by="admin")
    short = CustomerFactory.with_balance(90_000)
    second = order_checkout(customer_id=short.pk, plan_id=plan.pk, quantity=1, idempotency_key="r2").order
    wallet_apply(customer_id=short.pk, amount=-3_500, reason="adjustment", source="spent")
    services.cashback_reverse(order_id=second.pk)  # as if the refund had paid nothing back
