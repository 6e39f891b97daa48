"""Fixtures of the CRM's tests: the settings each group of tests runs with, a frozen clock,
an English-speaking bot user, and staff with a small shop for the API and the admin."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from crm.services import activity_record, profiles_recompute
from tests.conftest import TelegramUser
from tests.crm.factories import CustomerFactory, PlanFactory, buy
from tests.crm.helpers import NOON


@pytest.fixture
def recompute_settings(settings):
    """The thresholds the recompute tests are written for (docs/crm.md's defaults)."""
    settings.ENABLE_CRM = True
    settings.CRM_NEW_DAYS = 7
    settings.CRM_DORMANT_DAYS = 30
    settings.CRM_AT_RISK_DAYS = 5
    settings.CRM_CHURN_GRACE_DAYS = 14
    settings.CRM_HIGH_VALUE_AMOUNT = 2_000_000
    settings.CRM_VIP_MIN_RFM = 13
    settings.CRM_LOYAL_MIN_ORDERS = 4
    settings.CRM_WON_BACK_DAYS = 30
    return settings


@pytest.fixture
def crm_on(settings):
    """The CRM on, no automatic offers, no cashback: campaigns and the bot."""
    settings.ENABLE_CRM = True
    settings.CRM_AUTO_OFFERS = False
    settings.CRM_AT_RISK_DAYS = 5
    settings.DEFAULT_CASHBACK_PERCENT = 0


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def en_user():
    return TelegramUser(7_000_123, first_name="Sam", username="sam", language_code="en")


@pytest.fixture
def api_settings(settings):
    settings.LANGUAGE_CODE = "en"
    settings.ENABLE_CRM = True
    settings.CRM_AUTO_OFFERS = False


@pytest.fixture
def staff():
    return User.objects.create_user("op", password="pw", is_staff=True, is_superuser=True)


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def data():
    plan = PlanFactory(duration_days=30)
    risky = CustomerFactory(joined_at=timezone.now() - timedelta(days=60), username="risky")
    buy(risky, plan, at=timezone.now() - timedelta(days=27))
    fresh = CustomerFactory(joined_at=timezone.now() - timedelta(days=1), username="fresh")
    activity_record(customer=risky, kind="command", ref="/plans")
    profiles_recompute()
    return risky, fresh
