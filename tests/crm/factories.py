"""CRM test helpers on top of the shop factories."""

from datetime import timedelta

import factory

from crm.models import Campaign
from tests.factories import CustomerFactory, OrderFactory, PlanFactory, SubscriptionFactory

__all__ = ["CampaignFactory", "CustomerFactory", "OrderFactory", "PlanFactory", "SubscriptionFactory", "buy"]


def buy(customer, plan, *, at, amount=None, discount=0, days=None, status="paid"):
    """A paid order at `at` with its subscription (as the shop makes them)."""
    amount = plan.price_amount if amount is None else amount
    order = OrderFactory(customer=customer, plan=plan, list_amount=amount + discount, paid_amount=amount,
                         discount_amount=discount, created_at=at, paid_at=at, status=status)
    SubscriptionFactory(customer=customer, plan=plan, order=order, starts_at=at,
                        expires_at=at + timedelta(days=days or plan.duration_days), created_at=at)
    return order


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    text = "Hello {first_name}!"
