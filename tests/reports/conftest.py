"""Shared by the reports tests: English texts, and a small shop made through its real services."""

import itertools
from dataclasses import dataclass

import pytest
from django.utils import translation

from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop import services

_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _english(settings):
    """The texts these tests read, in English (the Persian catalog has its own tests)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def top_up(customer, amount: int):
    """A card receipt submitted and approved, as the bot and an admin do it."""
    payment = services.payment_submit(customer=customer, amount=amount, receipt_file_id=f"AgAC-report-{next(_keys)}")
    services.payment_approve(payment_id=payment.pk, reviewer="@boss", confirm=True)
    return payment


def buy(customer, plan):
    return services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1,
                                   idempotency_key=f"report-{next(_keys)}").order


@dataclass
class Shop:
    alice: object
    bob: object
    plan: object
    orders: list
    refunded: object


def make_shop() -> Shop:
    """Two customers top up by card and buy; Bob's second order is refunded to his wallet."""
    plan = PlanFactory(price_amount=100_000)
    alice, bob = CustomerFactory(language="en"), CustomerFactory(language="en")
    top_up(alice, 250_000)
    top_up(bob, 300_000)
    orders = [buy(alice, plan), buy(bob, plan), buy(bob, plan)]
    refunded = services.order_refund(order_id=orders[2].pk, mode="full", reason="asked", by="admin:test", confirm=True)
    return Shop(alice=alice, bob=bob, plan=plan, orders=orders, refunded=refunded)


@pytest.fixture
def shop(db):
    return make_shop()
