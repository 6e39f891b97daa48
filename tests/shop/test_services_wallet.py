"""The wallet ledger (services.wallet): once per source, never below zero."""

import pytest

from tests.factories import CustomerFactory
from tests.shop.conftest import ledger_sum
from vpnbot.shop import services


@pytest.mark.django_db
class TestWallet:
    def test_credit_once_per_source_and_never_negative(self):
        customer = CustomerFactory()
        assert services.wallet_apply(customer_id=customer.pk, amount=500, reason="topup", source="payment:1")
        assert services.wallet_apply(customer_id=customer.pk, amount=500, reason="topup", source="payment:1") is None
        with pytest.raises(services.InsufficientBalance) as info:
            services.wallet_apply(customer_id=customer.pk, amount=-501, reason="purchase", source="order:1")
        assert info.value.missing == 1
        customer.refresh_from_db()
        assert customer.balance_amount == 500 == ledger_sum(customer)
