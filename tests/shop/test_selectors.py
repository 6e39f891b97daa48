"""The shop's read-only queries (selectors)."""

import pytest

from tests.factories import CustomerFactory
from vpnbot.shop import selectors


@pytest.mark.django_db
def test_customer_find_takes_only_plain_ids_and_usernames():
    customer = CustomerFactory(username="neda")
    assert selectors.customer_find(str(customer.telegram_id)) == customer
    assert selectors.customer_find("@NEDA") == customer
    for query in ("²", "-²", "१२३", "9" * 40, "neda", "@", ""):
        assert selectors.customer_find(query) is None
