from datetime import UTC, datetime

import factory

from discounts.models import CashbackRule, SmartDiscount
from tests.factories import CustomerFactory, OrderFactory, PlanFactory  # noqa: F401 - re-exported


class SmartDiscountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SmartDiscount

    kind = SmartDiscount.Kind.CONDITIONAL
    percent_bp = 1000
    starts_at = datetime(2020, 1, 1, tzinfo=UTC)
    per_customer_limit = None


class CashbackRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CashbackRule

    percent_bp = 1000
    starts_at = datetime(2020, 1, 1, tzinfo=UTC)
