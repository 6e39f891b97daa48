"""Discount profiles and levels (services/loyalty.py): recounted on payment and refund, caught up
after a time switched off, and a customer who moved up is told."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from discounts import services, tasks
from discounts.models import UserDiscountProfile
from tests.discounts.factories import CustomerFactory, SmartDiscountFactory
from tests.discounts.helpers import buy
from vpnbot.shop.models import Customer
from vpnbot.shop.services import order_refund

pytestmark = pytest.mark.django_db


def test_cashback_notification_and_profile(plan, settings, notices):
    settings.DEFAULT_CASHBACK_PERCENT = 5
    settings.LOYALTY_THRESHOLDS = "silver:150000"
    SmartDiscountFactory(kind="loyalty", percent_bp=700, params={"levels": ["silver"]})
    customer = CustomerFactory.with_balance(500_000, language="en")
    buy(customer, plan, "k1")
    buy(customer, plan, "k2")
    kinds = [(n["kind"], n["dedup_key"]) for n in notices]
    assert kinds.count(("cashback", f"cashback:{customer.orders.order_by('id')[0].pk}")) == 1
    assert ("new_discount", f"level:{customer.pk}:silver") in kinds
    texts = [n["text"] for n in notices]
    assert "💸 Cashback: 5,000 Toman for order" in texts[0]
    assert any("You reached the Silver level" in t and "7%" in t for t in texts)
    profile = UserDiscountProfile.objects.get(customer=customer)
    assert (profile.level, profile.lifetime_spend_amount, profile.paid_orders) == ("silver", 200_000, 2)
    assert profile.cashback_earned_amount == 10_000


def test_refund_recomputes_the_loyalty_level(plan, settings):
    settings.LOYALTY_THRESHOLDS = "silver:150000"
    customer = CustomerFactory.with_balance(500_000)
    buy(customer, plan, "k1")
    order = buy(customer, plan, "k2")
    assert UserDiscountProfile.objects.get(customer=customer).level == "silver"
    order_refund(order_id=order.pk, reason="test", by="admin")
    profile = UserDiscountProfile.objects.get(customer=customer)
    assert (profile.level, profile.lifetime_spend_amount, profile.paid_orders) == ("bronze", 100_000, 1)


def test_profiles_catch_up_on_orders_paid_while_switched_off(plan, settings, notices):
    settings.LOYALTY_THRESHOLDS = "silver:150000"
    SmartDiscountFactory(kind="loyalty", percent_bp=700, params={"levels": ["silver"]})
    customer = CustomerFactory.with_balance(500_000, language="en")
    newcomer = CustomerFactory.with_balance(500_000, language="en")
    buy(customer, plan, "k1")
    assert UserDiscountProfile.objects.get(customer=customer).level == "bronze"
    settings.ENABLE_SMART_DISCOUNTS = False
    buy(customer, plan, "k2")
    buy(newcomer, plan, "n1")
    buy(newcomer, plan, "n2")
    assert UserDiscountProfile.objects.get(customer=customer).paid_orders == 1  # stale while off
    assert not UserDiscountProfile.objects.filter(customer=newcomer).exists()
    assert tasks.profiles_catch_up() == 0  # nothing while still off
    settings.ENABLE_SMART_DISCOUNTS = True
    assert tasks.profiles_catch_up() == 2
    for who in (customer, newcomer):
        profile = UserDiscountProfile.objects.get(customer=who)
        assert (profile.level, profile.lifetime_spend_amount, profile.paid_orders) == ("silver", 200_000, 2)
        assert ("new_discount", f"level:{who.pk}:silver") in [(n["kind"], n["dedup_key"]) for n in notices]
    assert tasks.profiles_catch_up() == 0  # caught up: nothing more to do


def test_profile_shown_catches_up_on_orders_paid_while_switched_off(plan, settings):
    settings.LOYALTY_THRESHOLDS = "silver:150000"
    customer = CustomerFactory.with_balance(500_000)
    buy(customer, plan, "k1")
    settings.ENABLE_SMART_DISCOUNTS = False
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        buy(customer, plan, "k2")
    settings.ENABLE_SMART_DISCOUNTS = True
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        profile = services.profile_get(customer=Customer.objects.get(pk=customer.pk))
    assert (profile.level, profile.paid_orders) == ("silver", 2)

