"""The candidates of a quote (services/candidates.py): the process cache sees every change and
equals the reference query."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from discounts import services
from discounts.models import SmartDiscount
from tests.discounts.factories import CustomerFactory, SmartDiscountFactory
from vpnbot.shop.services import price_quote

pytestmark = pytest.mark.django_db
Kind = SmartDiscount.Kind


def test_process_cache_sees_changes_made_elsewhere(customer, plan):
    """Changes that fire no signal here (another process, bulk writes) still reach the quote."""
    d = SmartDiscountFactory(percent_bp=1000)
    assert price_quote(customer, plan, 1).discount_amount == 10_000
    SmartDiscount.objects.bulk_create([SmartDiscount(kind=Kind.CONDITIONAL, percent_bp=3000, starts_at=d.starts_at,
                                                     per_customer_limit=None)])
    assert price_quote(customer, plan, 1).discount_amount == 30_000
    SmartDiscount.objects.filter(percent_bp=3000).update(percent_bp=2000, updated_at=timezone.now())
    assert price_quote(customer, plan, 1).discount_amount == 20_000
    SmartDiscount.objects.filter(percent_bp=2000)._raw_delete(SmartDiscount.objects.db)
    assert price_quote(customer, plan, 1).discount_amount == 10_000


def test_cached_candidates_equal_the_reference_query(customer, plan):
    other = CustomerFactory()
    start = datetime(2020, 1, 1, tzinfo=UTC)
    SmartDiscountFactory(percent_bp=100)
    SmartDiscountFactory(percent_bp=100, status="paused")
    SmartDiscountFactory(percent_bp=100, status="archived")
    SmartDiscountFactory(percent_bp=100, ends_at=datetime(2021, 1, 1, tzinfo=UTC))
    SmartDiscountFactory(percent_bp=100, starts_at=datetime(2030, 1, 1, tzinfo=UTC))
    SmartDiscountFactory(percent_bp=100, max_uses=5, used_count=4)
    SmartDiscountFactory(percent_bp=100, max_uses=5, used_count=5)
    SmartDiscountFactory(percent_bp=100, customer=customer)
    SmartDiscountFactory(percent_bp=100, customer=other)
    SmartDiscountFactory(kind=Kind.CODE, code="PUBLIC", percent_bp=100, starts_at=start)
    SmartDiscountFactory(kind=Kind.CODE, code="MINE", percent_bp=100, customer=customer)
    SmartDiscountFactory(kind=Kind.CODE, code="THEIRS", percent_bp=100, customer=other)
    at = datetime(2026, 6, 1, tzinfo=UTC)
    for who in (customer, other, None):
        for code in ("", "public", "MINE", "theirs", "nothing"):
            cached = {d.pk for d in services.candidates(customer=who, at=at, code=code)}
            reference = {d.pk for d in services.candidates_query(customer=who, at=at, code=code)}
            assert cached == reference, (who, code)

