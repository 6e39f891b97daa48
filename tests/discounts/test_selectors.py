"""Read-only queries (discounts/selectors.py): the statistics count each cashback movement in the
period it happened."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from discounts import selectors, services
from tests.discounts.factories import CustomerFactory, PlanFactory
from vpnbot.shop.services import order_checkout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_cashback_5")]


def test_stats_count_a_reversal_in_the_period_it_happened():
    plan = PlanFactory(price_amount=100_000)
    customer = CustomerFactory.with_balance(100_000)
    start = timezone.now()
    order = order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="p1").order
    with time_machine.travel(start + timedelta(days=10)):
        services.cashback_reverse(order_id=order.pk)
    early = selectors.discount_stats(since=start - timedelta(days=1), until=start + timedelta(days=1))
    assert (early.cashback_paid, early.cashback_reversed, early.cashback_net) == (5_000, 0, 5_000)
    late = selectors.discount_stats(since=start + timedelta(days=9), until=start + timedelta(days=11))
    assert (late.cashback_paid, late.cashback_reversed, late.cashback_net) == (0, 5_000, -5_000)
    whole = selectors.discount_stats(since=start - timedelta(days=1), until=start + timedelta(days=11))
    assert (whole.cashback_paid, whole.cashback_reversed, whole.cashback_net) == (5_000, 5_000, 0)

