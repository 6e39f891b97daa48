"""Reads: a campaign's statistics (conversion window, presses, revenue) and the offers a
customer sees."""

from datetime import timedelta

import pytest

from crm.models import CampaignRecipient
from crm.selectors import campaign_stats
from crm.services import campaign_create, recipient_press
from tests.crm.factories import CustomerFactory, OrderFactory, PlanFactory
from tests.crm.helpers import NOON

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("crm_on")]


def test_conversion_window_pressed_and_revenue(clock):
    plan = PlanFactory(duration_days=30)
    a, b, c = (CustomerFactory(joined_at=NOON - timedelta(days=60)) for _ in range(3))
    campaign = campaign_create(name="c", text="Hello", conversion_days=7)
    for customer in (a, b, c):
        CampaignRecipient.objects.create(campaign=campaign, customer=customer, created_at=NOON)
    OrderFactory(customer=a, plan=plan, paid_amount=70_000, list_amount=70_000, paid_at=NOON + timedelta(days=3))
    OrderFactory(customer=a, plan=plan, paid_amount=50_000, list_amount=50_000, paid_at=NOON + timedelta(days=8))
    OrderFactory(customer=b, plan=plan, paid_amount=90_000, list_amount=90_000,
                 paid_at=NOON + timedelta(days=7))  # the window's last moment
    OrderFactory(customer=c, plan=plan, paid_amount=30_000, list_amount=30_000, paid_at=NOON - timedelta(hours=1))
    recipient = CampaignRecipient.objects.get(campaign=campaign, customer=a)
    assert recipient_press(recipient_id=recipient.pk, customer=a) is not None
    assert recipient_press(recipient_id=recipient.pk, customer=a) is not None
    assert recipient_press(recipient_id=recipient.pk, customer=b) is None  # not theirs
    stats = campaign_stats(campaign=campaign)
    assert (stats.targeted, stats.pressed, stats.converted, stats.revenue_amount) == (3, 1, 2, 160_000)
