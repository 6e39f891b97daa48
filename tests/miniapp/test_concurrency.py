"""Presses at once from the Mini App (a double tap, two devices): the wallet pays once."""

import pytest
from django.test import Client

from tests.conftest import run_threads
from tests.factories import PlanFactory
from tests.miniapp.conftest import MiniApp
from tests.miniapp.test_api import fund, ledger
from vpnbot.shop.models import Customer, Order

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def test_the_same_key_at_once_buys_once(settings):
    app = MiniApp(Client(), settings)
    plan = PlanFactory(price_amount=100_000)
    customer = fund(app, 150_000)
    order = {"plan": plan.pk, "quantity": 1, "idempotency_key": "double-tap-01", "expected_total": 100_000}
    codes = run_threads(lambda i: MiniApp(Client(), settings, app.user).post("orders", order).status_code, 6)
    assert sorted(codes) == [200] * 5 + [201], codes
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.balance_amount == 50_000 == ledger(customer)
    assert Order.objects.filter(customer=customer).count() == 1


def test_two_orders_at_once_with_money_for_one(settings):
    app = MiniApp(Client(), settings)
    plan = PlanFactory(price_amount=100_000)
    customer = fund(app, 150_000)

    def buy(i):
        return MiniApp(Client(), settings, app.user).post(
            "orders", {"plan": plan.pk, "quantity": 1, "idempotency_key": f"device-{i}-order"}).status_code

    codes = run_threads(buy, 4)
    assert sorted(codes) == [201, 402, 402, 402], codes
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.balance_amount == 50_000 == ledger(customer)
