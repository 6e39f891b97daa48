"""Resellers buying at once (PostgreSQL / MariaDB; skipped on SQLite): one reseller's 50
purchases at once stop exactly at their credit limit, and two resellers buying at once both
get what they asked for, neither waiting for the other's wallet."""

import threading

import pytest
from django.db import connections, transaction

from resellers.models import Batch
from tests.conftest import run_threads
from tests.factories import PlanFactory
from tests.resellers.core_support import balance, buy, ledger_sum, make_reseller
from vpnbot.shop.models import Customer
from vpnbot.shop.services import InsufficientBalance

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_cashback(settings, fake_telegram):
    """(the fake Telegram: the admins' and customers' messages after each purchase go nowhere slow)"""
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


def test_one_resellers_locked_wallet_does_not_hold_up_another():
    plan = PlanFactory(price_amount=100_000)
    first = make_reseller(balance_amount=1_000_000)
    second = make_reseller(balance_amount=1_000_000)
    held, release, done = threading.Event(), threading.Event(), threading.Event()
    outcome = {}

    def hold_first():  # a purchase of the first reseller in the middle of its transaction
        try:
            with transaction.atomic():
                Customer.objects.select_for_update().get(pk=first.customer_id)
                held.set()
                release.wait(15)
        finally:
            connections.close_all()

    def second_buys():
        try:
            outcome["purchase"] = buy(second, plan, 3, key="second")
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc
        finally:
            connections.close_all()
            done.set()

    holder = threading.Thread(target=hold_first)
    holder.start()
    assert held.wait(10)
    buyer = threading.Thread(target=second_buys)
    buyer.start()
    finished_while_held = done.wait(10)
    release.set()
    holder.join()
    buyer.join()
    assert finished_while_held, "the second reseller waited for the first one's wallet"
    assert "error" not in outcome and outcome["purchase"].created
    assert balance(second.customer) == 1_000_000 - 300_000 == ledger_sum(second.customer)
