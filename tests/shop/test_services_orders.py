"""Checkout and refunds (services.orders): paid once per key, from the wallet, and back."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone, translation

from tests.conftest import run_threads
from tests.factories import CustomerFactory, PlanFactory
from tests.shop.conftest import ledger_sum
from vpnbot.core import bounds
from vpnbot.shop import services
from vpnbot.shop.models import DomainEvent, Order, Plan, Subscription, WalletTransaction


@pytest.mark.django_db
class TestCheckout:
    def test_pays_from_the_wallet_and_creates_the_subscription(self):
        customer = CustomerFactory.with_balance(500_000)
        plan = PlanFactory(price_amount=100_000, duration_days=30)
        result = services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=3, idempotency_key="k1")
        assert result.created
        order = result.order
        assert (order.list_amount, order.paid_amount, order.status) == (300_000, 300_000, "paid")
        sub = order.subscription
        assert (sub.expires_at - sub.starts_at) == timedelta(days=90)
        customer.refresh_from_db()
        assert customer.balance_amount == 200_000 == ledger_sum(customer)
        assert DomainEvent.objects.filter(name="order_paid", customer=customer).count() == 1

    def test_same_key_buys_once(self):
        customer = CustomerFactory.with_balance(500_000)
        plan = PlanFactory()
        first = services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="same")
        second = services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="same")
        assert first.created and not second.created
        assert first.order.pk == second.order.pk
        assert Order.objects.count() == 1

    def test_renewal_extends_from_the_current_expiry(self):
        customer = CustomerFactory.with_balance(500_000)
        plan = PlanFactory(duration_days=30)
        first = services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="a").order
        services.subscription_deliver_config(subscription_id=first.subscription.pk, config="vless://one")
        second = services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="b").order
        renewal = second.subscription
        assert renewal.renewed_from_id == first.subscription.pk
        assert renewal.starts_at == first.subscription.expires_at
        assert renewal.config == "vless://one"
        assert DomainEvent.objects.filter(name="subscription_extended").count() == 1

    def test_insufficient_balance_names_the_missing_amount_and_changes_nothing(self):
        customer = CustomerFactory.with_balance(30_000)
        plan = PlanFactory(price_amount=100_000)
        with pytest.raises(services.InsufficientBalance) as info:
            services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="x")
        assert info.value.missing == 70_000
        assert not Order.objects.exists() and not Subscription.objects.exists()

    @pytest.mark.parametrize("quantity", [0, 2, 13, -1, "x"])
    def test_bad_quantity_refused(self, quantity):
        customer = CustomerFactory.with_balance(10**7)
        with pytest.raises(services.ShopError):
            services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=quantity, idempotency_key="q")
        assert not Order.objects.exists()

    def test_inactive_or_unknown_plan_refused(self):
        customer = CustomerFactory.with_balance(10**7)
        for plan_id in (PlanFactory(is_active=False).pk, 999_999):
            with pytest.raises(services.ShopError):
                services.order_checkout(customer_id=customer.pk, plan_id=plan_id, quantity=1, idempotency_key=f"p{plan_id}")
        assert not Order.objects.exists()

    def test_a_changed_price_is_not_charged_silently(self):
        customer = CustomerFactory.with_balance(10**7)
        plan = PlanFactory(price_amount=100_000)
        with pytest.raises(services.QuoteChanged):
            services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="c", expected_total=90_000)
        assert not Order.objects.exists()


@pytest.mark.django_db
class TestRefunds:
    def test_full_refund_returns_the_money_and_cuts_the_subscription(self):
        customer = CustomerFactory.with_balance(300_000)
        order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(price_amount=100_000).pk, quantity=1,
                                        idempotency_key="r").order
        refunded = services.order_refund(order_id=order.pk, mode="full", reason="asked", by="t")
        assert refunded.status == "refunded" and refunded.refunded_amount == 100_000
        customer.refresh_from_db()
        assert customer.balance_amount == 300_000 == ledger_sum(customer)
        assert Subscription.objects.get(order=order).status == "cancelled"
        assert DomainEvent.objects.filter(name="order_refunded").count() == 1
        with pytest.raises(services.ShopError):
            services.order_refund(order_id=order.pk, mode="full", reason="again", by="t")
        customer.refresh_from_db()
        assert customer.balance_amount == 300_000

    def test_prorata_refund_is_for_the_unused_days(self):
        customer = CustomerFactory.with_balance(300_000)
        order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(price_amount=300_000, duration_days=30).pk,
                                        quantity=1, idempotency_key="pr").order
        sub = order.subscription
        refunded = services.order_refund(order_id=order.pk, mode="prorata", reason="r", by="t",
                                         at=sub.starts_at + timedelta(days=10))
        assert refunded.refunded_amount == 200_000
        assert refunded.refunded_amount <= refunded.paid_amount

    @pytest.fixture
    def english(self):
        with translation.override("en"):
            yield

    def test_a_refund_of_nothing_is_refused_and_unwinds_nothing(self, english):
        customer = CustomerFactory.with_balance(300_000)
        order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(price_amount=300_000, duration_days=30).pk,
                                        quantity=1, idempotency_key="used").order
        used_up = order.subscription.expires_at + timedelta(days=1)
        assert services.order_refund_amount(order, mode="prorata", at=used_up) == 0
        with pytest.raises(services.ShopError, match="used up"):
            services.order_refund(order_id=order.pk, mode="prorata", reason="late", by="t", at=used_up)
        assert Order.objects.get(pk=order.pk).status == "paid"
        assert not DomainEvent.objects.filter(name="order_refunded").exists()
        free = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(price_amount=0).pk, quantity=1,
                                       idempotency_key="free").order
        with pytest.raises(services.ShopError, match="nothing was paid"):
            services.order_refund(order_id=free.pk, mode="full", reason="x", by="t")
        assert not DomainEvent.objects.filter(name="order_refunded").exists()
        # a full refund of the used-up order still pays it back, once
        assert services.order_refund(order_id=order.pk, mode="full", reason="goodwill", by="t").refunded_amount == 300_000
        assert DomainEvent.objects.filter(name="order_refunded").count() == 1

    def test_refund_needs_a_reason_and_a_known_mode(self):
        customer = CustomerFactory.with_balance(300_000)
        order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1, idempotency_key="m").order
        for mode, reason in (("full", ""), ("half", "x")):
            with pytest.raises(services.ShopError):
                services.order_refund(order_id=order.pk, mode=mode, reason=reason, by="t")
        assert Order.objects.get(pk=order.pk).status == "paid"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_purchases_from_a_wallet_that_pays_for_ten():
    customer = CustomerFactory.with_balance(1_000_000)
    plan = PlanFactory(price_amount=100_000)

    def buy(i):
        try:
            return services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key=f"c{i}")
        except services.InsufficientBalance as exc:
            return exc

    results = run_threads(buy, 50)
    assert sum(1 for r in results if isinstance(r, services.Checkout)) == 10
    assert all(isinstance(r, services.Checkout | services.InsufficientBalance) for r in results), results
    customer.refresh_from_db()
    assert Order.objects.filter(customer=customer).count() == 10
    assert customer.balance_amount == 0 == ledger_sum(customer)
    assert not WalletTransaction.objects.filter(balance_after__lt=0).exists()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_same_confirmation_pressed_concurrently_buys_once():
    customer = CustomerFactory.with_balance(1_000_000)
    plan = PlanFactory()
    results = run_threads(lambda i: services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1,
                                                            idempotency_key="double"), 5)
    assert all(isinstance(r, services.Checkout) for r in results), results
    assert sum(r.created for r in results) == 1
    assert Order.objects.count() == 1


@pytest.mark.django_db
class TestBoundedArithmetic:
    """Numbers that reach date and money arithmetic: the checkout refuses what would overflow,
    also when the row was written before the bounds (or around them, with .update())."""

    def assert_nothing_changed(self, customer, balance):
        customer.refresh_from_db()
        assert customer.balance_amount == balance == ledger_sum(customer)
        assert not Order.objects.filter(customer=customer).exclude(idempotency_key="first").exists()
        assert not DomainEvent.objects.filter(name="order_paid", customer=customer).exclude(
            payload__order_id__in=list(Order.objects.values_list("pk", flat=True))).exists()

    @pytest.mark.parametrize("field, value", [("duration_days", 999_999_999), ("device_limit", 0),
                                              ("price_amount", 2**62), ("traffic_gb", 10**9)])
    def test_a_stored_plan_out_of_bounds_is_refused_politely(self, field, value):
        customer = CustomerFactory.with_balance(10**7)
        plan = PlanFactory(price_amount=100_000)
        Plan.objects.filter(pk=plan.pk).update(**{field: value})
        with translation.override("en"), pytest.raises(services.ShopError) as info:
            services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=3, idempotency_key="absurd")
        assert "cannot be bought right now" in str(info.value)
        with translation.override("en"), pytest.raises(services.ShopError):
            services.price_quote(customer, Plan.objects.get(pk=plan.pk), 1)
        self.assert_nothing_changed(customer, 10**7)

    def test_at_most_so_many_days_in_one_order(self):
        customer = CustomerFactory.with_balance(10**9)
        plan = PlanFactory(duration_days=bounds.MAX_DAYS, price_amount=1000)
        with translation.override("en"), pytest.raises(services.ShopError) as info:
            services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=12, idempotency_key="long")
        assert f"at most {bounds.MAX_ORDER_DAYS:,} days" in str(info.value)
        self.assert_nothing_changed(customer, 10**9)
        yearly = PlanFactory(duration_days=365, price_amount=1000)
        order = services.order_checkout(customer_id=customer.pk, plan_id=yearly.pk, quantity=12, idempotency_key="y").order
        assert order.subscription.expires_at - order.subscription.starts_at == timedelta(days=365 * 12)

    @pytest.mark.parametrize("ahead", [timedelta(days=bounds.MAX_AHEAD_DAYS - 10), "far"])
    def test_renewals_stack_no_further_than_the_horizon(self, ahead):
        customer = CustomerFactory.with_balance(500_000)
        plan = PlanFactory(duration_days=30, price_amount=100_000)
        first = services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="first").order
        end = (datetime(9999, 12, 20, tzinfo=UTC) if ahead == "far" else timezone.now() + ahead)
        Subscription.objects.filter(pk=first.subscription.pk).update(expires_at=end)
        with translation.override("en"), pytest.raises(services.ShopError) as info:
            services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="again")
        assert "cannot be extended" in str(info.value)
        self.assert_nothing_changed(customer, 400_000)
        assert Subscription.objects.filter(customer=customer).count() == 1
