"""The shop's read-only queries (selectors)."""

import pytest

from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop import selectors, services


@pytest.mark.django_db
def test_customer_find_takes_only_plain_ids_and_usernames():
    customer = CustomerFactory(username="neda")
    assert selectors.customer_find(str(customer.telegram_id)) == customer
    assert selectors.customer_find("@NEDA") == customer
    for query in ("²", "-²", "१२३", "9" * 40, "neda", "@", ""):
        assert selectors.customer_find(query) is None


@pytest.mark.django_db
def test_subscriptions_for_lists_only_the_running_ones_oldest_first():
    customer = CustomerFactory.with_balance(1_000_000)
    plan = PlanFactory()
    first = services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="s1").order
    renewal = services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="s2").order
    other = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1, idempotency_key="s3")
    services.order_refund(order_id=other.order.pk, reason="test", by="t")
    assert [s.pk for s in selectors.subscriptions_for(customer)] == [first.subscription.pk, renewal.subscription.pk]


@pytest.mark.django_db
def test_wallet_history_is_newest_first_and_limited():
    customer = CustomerFactory()
    for i in range(3):
        services.wallet_apply(customer_id=customer.pk, amount=100 * (i + 1), reason="adjustment", source=f"h{i}")
    assert [t.amount for t in selectors.wallet_history(customer=customer, limit=2)] == [300, 200]
