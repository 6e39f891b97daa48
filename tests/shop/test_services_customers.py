"""Customers (services.customers): registration on first contact, with a unique referral code."""

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory
from vpnbot.shop import services
from vpnbot.shop.models import DomainEvent
from vpnbot.shop.services import customers


@pytest.mark.django_db
def test_joined_recently_and_time_fields_are_aware():
    customer = CustomerFactory()
    assert timezone.is_aware(customer.joined_at)


@pytest.mark.django_db
def test_a_new_customer_whose_random_referral_code_is_taken_gets_another(monkeypatch):
    taken = CustomerFactory(referral_code="abcd1234")
    codes = iter(["abcd1234", "abcd1234", "ffff0000"])
    monkeypatch.setattr(customers, "_new_referral_code", lambda: next(codes))
    customer, created = services.customer_sync(telegram_id=taken.telegram_id + 1, first_name="New")
    assert created and customer.referral_code == "ffff0000"
    assert DomainEvent.objects.filter(name="registered", customer=customer).count() == 1
