"""Customers and plans for the payments tests."""

import pytest

from tests.factories import CustomerFactory, PlanFactory


@pytest.fixture
def customer(db):
    return CustomerFactory(balance_amount=0, language="en")


@pytest.fixture
def plan(db):
    return PlanFactory(price_amount=149_000, duration_days=30)


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    """Balances as the shop counts them (the discounts app's cashback has its own tests)."""
    settings.DEFAULT_CASHBACK_PERCENT = 0


@pytest.fixture(autouse=True)
def _english(settings):
    """The texts these tests read, in English (customers and admins without a language get the
    shop's; the Persian catalog has its own tests)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
