"""Fixtures and helpers shared by the shop's tests."""

import pytest
from django.db.models import Sum

from vpnbot.shop.models import WalletTransaction


@pytest.fixture(autouse=True)
def _shop_alone(settings):
    """The shop's own arithmetic: no default cashback (the discounts app has its own tests)."""
    settings.DEFAULT_CASHBACK_PERCENT = 0


def ledger_sum(customer) -> int:
    """The sum of the customer's ledger rows (the balance must equal it)."""
    return WalletTransaction.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] or 0
