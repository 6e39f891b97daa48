"""Resellers buying at once (PostgreSQL / MariaDB; skipped on SQLite): one reseller's 50
purchases at once stop exactly at their credit limit, and two resellers buying at once both
get what they asked for."""

import pytest
from django.db import connections

from resellers.models import Batch
from tests.conftest import run_threads
from tests.factories import PlanFactory
from tests.resellers.core_support import balance, buy, ledger_sum, make_reseller
from vpnbot.shop.services import InsufficientBalance

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0


def test_fifty_purchases_at_once_stop_exactly_at_the_credit_limit():
    plan = PlanFactory(price_amount=100_000)
    reseller = make_reseller(discount_bp=2000, balance_amount=400_000, credit=400_000)  # 800,000 = 10 × 80,000

    results = run_threads(lambda i: buy(reseller, plan, 1, key=f"at-once-{i}"), 50)
    connections.close_all()
    bought = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, InsufficientBalance) for r in refused), refused[:3]
    assert len(bought) == 10 and Batch.objects.count() == 10
    assert balance(reseller.customer) == -400_000 == ledger_sum(reseller.customer)


def test_two_resellers_buying_at_once_do_not_block_each_other():
    plan = PlanFactory(price_amount=100_000)
    first = make_reseller(balance_amount=1_000_000)
    second = make_reseller(balance_amount=1_000_000)
    pair = [first, second]

    results = run_threads(lambda i: buy(pair[i % 2], plan, 2, key=f"pair-{i}"), 8)
    connections.close_all()
    assert [r for r in results if isinstance(r, Exception)] == []
    for reseller in pair:
        assert Batch.objects.filter(reseller=reseller).count() == 4
        assert balance(reseller.customer) == 1_000_000 - 800_000 == ledger_sum(reseller.customer)
