"""Fixtures shared by the discounts tests: the settings they start from, the message-port
recorder, a plan and a customer, a staff user and API client, a use counted during an edit."""

import pytest
from django.contrib.auth.models import User
from django.db.models import F
from django.db.models.signals import pre_save
from rest_framework.test import APIClient

from discounts.models import SmartDiscount
from tests.discounts.factories import CustomerFactory, PlanFactory
from vpnbot.transport import messages


@pytest.fixture(autouse=True)
def _smart_discounts_on(settings):
    """Every discounts test starts with the feature on, no price floor, cashback credited at
    once and no default cashback (see default_cashback_5)."""
    settings.ENABLE_SMART_DISCOUNTS = True
    settings.MIN_PRICE_PERCENT = 0
    settings.DEFAULT_CASHBACK_DELAY_DAYS = 0
    settings.DEFAULT_CASHBACK_PERCENT = 0


@pytest.fixture
def default_cashback_5(settings):
    """5% cashback where no cashback rule matches (the shipped default)."""
    settings.DEFAULT_CASHBACK_PERCENT = 5


@pytest.fixture
def notices(monkeypatch):
    """What discounts told customers through the message port (whoever delivers it)."""
    recorded = []

    class Recorder:
        def notify_chat(self, chat_id, text, *, kind, buttons, photo, dedup_key, context, urgent, source, parse_mode):
            recorded.append({"chat_id": chat_id, "kind": kind, "context": context, "text": text, "dedup_key": dedup_key})
            return messages.Queued()

    monkeypatch.setattr(messages, "_outbox", Recorder())
    return recorded


@pytest.fixture
def plan():
    return PlanFactory(price_amount=100_000)


@pytest.fixture
def customer():
    return CustomerFactory(language="en")


@pytest.fixture
def staff():
    return User.objects.create_user("staff", password="pw-123456", is_staff=True, is_superuser=True)


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def concurrent_use():
    """A checkout counting a use between the edit reading the discount and saving it."""
    def bump(sender, instance, **kwargs):
        if instance.pk:
            SmartDiscount.objects.filter(pk=instance.pk).update(used_count=F("used_count") + 1)

    pre_save.connect(bump, sender=SmartDiscount, dispatch_uid="test-concurrent-use")
    yield
    pre_save.disconnect(sender=SmartDiscount, dispatch_uid="test-concurrent-use")
