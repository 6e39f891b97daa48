"""A renewal chain is read in a bounded number of queries, however long it is (a customer
who renews every month for years must not make each purchase slower)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from panels import services
from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Subscription


def renew(customer, plan, n, capture):
    for i in range(n):
        with capture(execute=True):
            shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1,
                                         idempotency_key=f"chain:{customer.pk}:{i}")


def queries_of_one_more(customer, plan, capture, key) -> int:
    with CaptureQueriesContext(connection) as queries, capture(execute=True):
        shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key=key)
    return len(queries.captured_queries)


@pytest.mark.django_db
def test_a_purchase_costs_the_same_queries_after_5_or_40_renewals(django_capture_on_commit_callbacks, fake_telegram):
    plan = PlanFactory(price_amount=1000, duration_days=1)
    short, long = CustomerFactory(balance_amount=10**9), CustomerFactory(balance_amount=10**9)
    renew(short, plan, 5, django_capture_on_commit_callbacks)
    renew(long, plan, 40, django_capture_on_commit_callbacks)
    assert (queries_of_one_more(short, plan, django_capture_on_commit_callbacks, "s")
            == queries_of_one_more(long, plan, django_capture_on_commit_callbacks, "l"))


@pytest.mark.django_db
def test_chain_root_and_members_follow_the_whole_chain(django_capture_on_commit_callbacks, fake_telegram):
    plan = PlanFactory(price_amount=1000, duration_days=1)
    customer = CustomerFactory(balance_amount=10**9)
    other = CustomerFactory(balance_amount=10**9)
    renew(customer, plan, 12, django_capture_on_commit_callbacks)
    renew(other, plan, 3, django_capture_on_commit_callbacks)
    chain = list(Subscription.objects.filter(customer=customer).order_by("pk"))
    root = services.chain_root(chain[-1])
    assert root.pk == chain[0].pk
    with CaptureQueriesContext(connection) as queries:
        members = services.accounts.chain_members(root)
    assert [s.pk for s in members] == [s.pk for s in chain] and len(queries.captured_queries) == 2
