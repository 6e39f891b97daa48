import pytest


@pytest.fixture(autouse=True)
def _shop_alone(settings):
    """The shop's own arithmetic: no default cashback (the discounts app has its own tests)."""
    settings.DEFAULT_CASHBACK_PERCENT = 0
