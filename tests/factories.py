"""factory_boy factories for the shop; feature apps add theirs in tests/<app>/factories.py."""

import itertools
from datetime import timedelta

import factory
from django.utils import timezone

from vpnbot.shop.models import Customer, Order, Payment, Plan, Subscription, WalletTransaction

_tg_ids = itertools.count(10_000_000)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    telegram_id = factory.LazyFunction(lambda: next(_tg_ids))
    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    language = "fa"
    referral_code = factory.Sequence(lambda n: f"r{n:07d}")

    @classmethod
    def with_balance(cls, amount: int, **kwargs) -> Customer:
        """A customer whose balance comes from a real ledger row."""
        from vpnbot.shop.services import wallet_apply

        customer = cls(**kwargs)
        wallet_apply(customer_id=customer.pk, amount=amount, reason="adjustment", source=f"test-seed:{customer.pk}")
        customer.refresh_from_db()
        return customer


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    name = factory.Sequence(lambda n: f"Plan {n}")
    duration_days = 30
    traffic_gb = 50
    device_limit = 2
    price_amount = 100_000
    is_active = True


class OrderFactory(factory.django.DjangoModelFactory):
    """A paid order (no ledger row: use services.order_checkout for the real flow)."""

    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    plan = factory.SubFactory(PlanFactory)
    quantity = 1
    list_amount = factory.LazyAttribute(lambda o: o.plan.price_amount * o.quantity)
    paid_amount = factory.LazyAttribute(lambda o: o.list_amount)
    status = Order.Status.PAID
    idempotency_key = factory.Sequence(lambda n: f"test-order-{n}")
    created_at = factory.LazyFunction(timezone.now)
    paid_at = factory.LazyAttribute(lambda o: o.created_at)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory)
    plan = factory.SubFactory(PlanFactory)
    order = factory.SubFactory(OrderFactory, customer=factory.SelfAttribute("..customer"), plan=factory.SelfAttribute("..plan"))
    starts_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(days=s.plan.duration_days))
    status = Subscription.Status.ACTIVE
    config = "vless://example"


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    customer = factory.SubFactory(CustomerFactory)
    amount = 200_000
    receipt_file_id = factory.Sequence(lambda n: f"AgAC-receipt-{n}")


class WalletTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WalletTransaction

    customer = factory.SubFactory(CustomerFactory)
    amount = 1000
    balance_after = 1000
    reason = "adjustment"
    source = factory.Sequence(lambda n: f"factory:{n}")
