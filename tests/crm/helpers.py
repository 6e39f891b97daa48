"""What several CRM test modules share: the clock's fixed times, a recompute at a time, the
golden data set, campaign populations and bot users' customers."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from crm.models import CampaignRecipient, UserProfile
from crm.services import profiles_recompute
from notifications.models import Notification
from tests.crm.factories import CustomerFactory, OrderFactory, PlanFactory, buy
from vpnbot.shop.models import Customer

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the recompute tests' run time
NOON = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # 12:30 in Tehran: not quiet hours


def recompute(at):
    return profiles_recompute(as_of=at, make_offers=False)


def profile(customer) -> UserProfile:
    return UserProfile.objects.get(customer=customer)


# The golden data set: 11 buyers, 2 who never bought; ties in R, F and M.
# name: (monetary, frequency, days since the last order)
GOLDEN = {
    "B1": (100, 3, 50), "B2": (200, 1, 10), "B3": (200, 2, 30), "B4": (200, 1, 10), "B5": (300, 1, 40),
    "B6": (400, 2, 20), "B7": (400, 1, 10), "B8": (500, 1, 60), "B9": (600, 3, 5), "B10": (700, 1, 25),
    "B11": (700, 2, 15),
}


def make_golden():
    plan = PlanFactory(price_amount=1000)
    customers = {}
    for name, (monetary, frequency, days_ago) in GOLDEN.items():
        customer = CustomerFactory(joined_at=T - timedelta(days=200), username=name.lower())
        last = T - timedelta(days=days_ago)
        amounts = [monetary // frequency] * frequency
        amounts[-1] += monetary - sum(amounts)
        for i, amount in enumerate(amounts):
            at = last - timedelta(days=(frequency - 1 - i) * 7)
            OrderFactory(customer=customer, plan=plan, list_amount=amount, paid_amount=amount, created_at=at, paid_at=at)
        customers[name] = customer
    customers["N1"] = CustomerFactory(joined_at=T - timedelta(days=3))
    customers["N2"] = CustomerFactory(joined_at=T - timedelta(days=90))
    # not counted: a pending order, and a paid order after the run's timestamp
    OrderFactory(customer=customers["N1"], plan=plan, status="pending", paid_at=None)
    OrderFactory(customer=customers["N2"], plan=plan, created_at=T + timedelta(hours=1), paid_at=T + timedelta(hours=1))
    return customers


def population():
    plan = PlanFactory(duration_days=30)
    risky = []
    for i in range(2):
        customer = CustomerFactory(joined_at=NOON - timedelta(days=60), first_name=f"R{i}")
        buy(customer, plan, at=NOON - timedelta(days=27))
        risky.append(customer)
    happy = CustomerFactory(joined_at=NOON - timedelta(days=60))
    buy(happy, plan, at=NOON - timedelta(days=2))
    profiles_recompute(make_offers=False)
    return plan, risky, happy


def notifications_for(campaign):
    return Notification.objects.filter(pk__in=CampaignRecipient.objects.filter(campaign=campaign).values("notification_id"))


def many_at_risk(n):
    plan = PlanFactory(duration_days=30)
    for i in range(n):
        customer = CustomerFactory(joined_at=NOON - timedelta(days=60), first_name=f"M{i}")
        buy(customer, plan, at=NOON - timedelta(days=27))
    profiles_recompute(make_offers=False)


def customer_of(user):
    return Customer.objects.get(telegram_id=user.id)


def at_risk(n=1, plan=None):
    plan = plan or PlanFactory(duration_days=30)
    out = []
    for i in range(n):
        customer = CustomerFactory(joined_at=timezone.now() - timedelta(days=60), username=f"risky{i}", language="en")
        buy(customer, plan, at=timezone.now() - timedelta(days=27))
        out.append(customer)
    return out
