"""Creating discounts and cashback rules (services/catalog.py), as the CRM's offers use them."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from discounts import services
from tests.discounts.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_crm_interfaces():
    customer = CustomerFactory()
    until = datetime(2030, 1, 1, tzinfo=UTC)
    personal = services.discount_create_code(label="Welcome back", percent_bp=2000, cap_amount=50_000, valid_until=until,
                                             customer=customer)
    assert personal.kind == "code" and len(personal.code) == 8 and personal.customer == customer
    assert (personal.max_uses, personal.per_customer_limit, personal.source) == (1, 1, "crm")
    named = services.discount_create_code(label="Campaign", fixed_amount=10_000, valid_until=until, code="yalda1404",
                                          max_uses=100)
    assert named.code == "YALDA1404"

    with pytest.raises(ValidationError):
        services.discount_create_code(label="Dup", percent_bp=100, valid_until=until, code="Yalda1404")
    with pytest.raises(ValidationError):
        services.discount_create_code(label="Neither", valid_until=until)
    rule = services.cashback_rule_create_personal(customer=customer, percent_bp=1500, valid_until=until, label="VIP")
    assert (rule.customer, rule.percent_bp, rule.ends_at, rule.source) == (customer, 1500, until, "crm")

