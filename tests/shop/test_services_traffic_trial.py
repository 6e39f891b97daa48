"""Extra traffic and the free trial in the shop (services.traffic, services.trials) against a
stub provisioner: the seam is asked, the wallet moves once, a refusal takes everything back."""

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone, translation

from tests.factories import CustomerFactory, PlanFactory, SubscriptionFactory
from tests.shop.conftest import ledger_sum
from vpnbot.shop import provisioning, services
from vpnbot.shop.models import DomainEvent, Subscription, TrafficPack, TrafficPurchase, Trial, WalletTransaction
from vpnbot.shop.provisioning import LATER, AccountInfo, ManualProvisioner, Provisioner, ProvisioningUnavailable

pytestmark = pytest.mark.django_db
GB = 1024**3


class StubProvisioner(Provisioner):
    """Accounts as the test says; records what the shop asked."""

    def __init__(self):
        self.info: dict[int, AccountInfo] = {}
        self.targets: dict[int, list[int]] = {}
        self.added: list[tuple[int, int]] = []
        self.provisioned: list[tuple[int, bool]] = []
        self.refuse = False

    def provision(self, subscription):
        self.provisioned.append((subscription.pk, subscription.is_trial))
        return LATER

    def extend(self, subscription):
        return LATER

    def account_info(self, subscriptions):
        return {s.pk: self.info[s.pk] for s in subscriptions if s.pk in self.info}

    def plan_targets(self, plans):
        return {p.pk: self.targets.get(p.pk, []) for p in plans}

    def add_traffic(self, subscription, extra_bytes):
        if self.refuse:
            raise ProvisioningUnavailable("The server said no.")
        self.added.append((subscription.pk, extra_bytes))


@pytest.fixture
def stub(monkeypatch):
    stub = StubProvisioner()
    monkeypatch.setattr(provisioning, "_registered", stub)
    return stub


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def on_panel(stub, sub, *, limit=10 * GB, status="active"):
    stub.info[sub.pk] = AccountInfo(status=status, panel=1, account="a", used_bytes=GB, limit_bytes=limit,
                                    subscription_url="https://sub.example.com/sub/x")


@pytest.fixture
def world(stub):
    customer = CustomerFactory.with_balance(100_000)
    sub = SubscriptionFactory(customer=customer)
    on_panel(stub, sub)
    pack = TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    return customer, sub, pack


def checkout(customer, sub, pack, key="k1", **extra):
    return services.traffic_checkout(customer_id=customer.pk, subscription_id=sub.pk, pack_id=pack.pk,
                                     idempotency_key=key, **extra)


def test_a_pack_is_paid_once_per_key_and_the_seam_adds_its_bytes(stub, world):
    customer, sub, pack = world
    first = checkout(customer, sub, pack)
    again = checkout(customer, sub, pack)
    assert first.created and not again.created and again.purchase == first.purchase
    assert stub.added == [(sub.pk, 5 * GB)]
    customer.refresh_from_db()
    assert customer.balance_amount == 70_000 == ledger_sum(customer)
    row = WalletTransaction.objects.get(reason="traffic")
    assert row.amount == -30_000 and row.source == f"traffic:{first.purchase.pk}"
    assert row.get_reason_display() == "Extra traffic"
    assert DomainEvent.objects.get(name="traffic_bought").payload == {
        "purchase_id": first.purchase.pk, "subscription_id": sub.pk, "pack_id": pack.pk, "traffic_gb": 5,
        "amount": 30_000}


def test_a_refusal_of_the_seam_leaves_no_payment(stub, world):
    customer, sub, pack = world
    stub.refuse = True
    with pytest.raises(services.ShopError, match="The server said no."):
        checkout(customer, sub, pack)
    customer.refresh_from_db()
    assert customer.balance_amount == 100_000 == ledger_sum(customer)
    assert not TrafficPurchase.objects.exists() and not DomainEvent.objects.filter(name="traffic_bought").exists()
    stub.refuse = False
    assert checkout(customer, sub, pack).created  # the same key works once the seam says yes


@pytest.mark.parametrize("case, message", [
    ("manual", "on our servers only"), ("unlimited", "unlimited traffic already"),
    ("pending", "still being prepared"), ("failed", "still being prepared"), ("disabled", "switched off"),
    ("expired", "not one of your running services"), ("cancelled", "not one of your running services"),
    ("someone else's", "not one of your running services"), ("pack off sale", "not on sale any more"),
    ("short", "short by 10,000"), ("price moved", "price changed"), ("no key", "not valid"),
])
def test_refusals_change_nothing(stub, world, case, message):
    customer, sub, pack = world
    extra = {}
    if case == "manual":
        stub.info.clear()
    elif case == "unlimited":
        on_panel(stub, sub, limit=0)
    elif case in ("pending", "failed", "disabled"):
        on_panel(stub, sub, status=case)
    elif case == "expired":
        Subscription.objects.filter(pk=sub.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "cancelled":
        Subscription.objects.filter(pk=sub.pk).update(status="cancelled")
    elif case == "someone else's":
        customer = CustomerFactory.with_balance(100_000)
    elif case == "pack off sale":
        TrafficPack.objects.filter(pk=pack.pk).update(is_active=False)
    elif case == "short":
        TrafficPack.objects.filter(pk=pack.pk).update(price_amount=110_000)
    elif case == "price moved":
        extra["expected_amount"] = 25_000
    with pytest.raises(services.ShopError, match=message):
        checkout(customer, sub, pack, key="" if case == "no key" else "k1", **extra)
    assert stub.added == [] and not TrafficPurchase.objects.exists()
    assert not WalletTransaction.objects.filter(reason="traffic").exists()


def test_a_key_of_another_customer_is_not_theirs(stub, world):
    customer, sub, pack = world
    checkout(customer, sub, pack, key="shared")
    other = CustomerFactory.with_balance(100_000)
    with pytest.raises(services.ShopError, match="not valid"):
        services.traffic_checkout(customer_id=other.pk, subscription_id=sub.pk, pack_id=pack.pk, idempotency_key="shared")


def test_the_manual_provisioner_sells_no_traffic():
    sub = SubscriptionFactory()
    with pytest.raises(ProvisioningUnavailable):
        ManualProvisioner().add_traffic(sub, GB)


# --- the free trial -------------------------------------------------------------------------------------

@pytest.fixture
def trial_plan(stub, settings):
    plan = PlanFactory(name="Trial", is_active=False)  # need not be on sale
    stub.targets[plan.pk] = [1]
    settings.TRIAL_ENABLED, settings.TRIAL_PLAN_ID, settings.TRIAL_DAYS, settings.TRIAL_TRAFFIC_GB = True, plan.pk, 2, 1
    return plan


def test_a_trial_is_a_subscription_without_an_order_provisioned_after_commit(stub, trial_plan,
                                                                             django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        sub = services.trial_start(customer_id=customer.pk)
    assert sub.is_trial and sub.order is None and sub.plan == trial_plan and sub.renewed_from is None
    assert abs(sub.expires_at - sub.starts_at - timedelta(days=2)) < timedelta(seconds=1)
    assert stub.provisioned == [(sub.pk, True)]
    assert Trial.objects.get(customer=customer).subscription == sub
    assert DomainEvent.objects.get(name="trial_started").payload == {
        "subscription_id": sub.pk, "plan_id": trial_plan.pk, "days": 2, "traffic_gb": 1}
    with pytest.raises(services.ShopError, match="already had"):
        services.trial_start(customer_id=customer.pk)
    assert Subscription.objects.filter(customer=customer).count() == 1


def test_a_trial_refused_when_off_without_a_plan_or_off_panels(stub, trial_plan, settings):
    customer = CustomerFactory()
    settings.TRIAL_ENABLED = False
    with pytest.raises(services.ShopError, match="not offered"):
        services.trial_start(customer_id=customer.pk)
    settings.TRIAL_ENABLED = True
    stub.targets.clear()  # the plan is not sold on a panel
    with pytest.raises(services.ShopError, match="not available"):
        services.trial_start(customer_id=customer.pk)
    settings.TRIAL_PLAN_ID = 999_999
    with pytest.raises(services.ShopError, match="not available"):
        services.trial_start(customer_id=customer.pk)
    assert not Subscription.objects.exists() and not Trial.objects.exists()


def test_days_and_traffic_of_a_trial_stay_within_bounds(settings):
    settings.TRIAL_DAYS, settings.TRIAL_TRAFFIC_GB = 0, -5
    assert services.trial_days() == 1 and services.trial_traffic_gb() == 0
    settings.TRIAL_DAYS, settings.TRIAL_TRAFFIC_GB = 10**9, 10**9
    assert services.trial_days() == 3650 and services.trial_traffic_gb() == 100_000


def test_buying_the_trials_plan_does_not_renew_the_trial(stub, trial_plan, django_capture_on_commit_callbacks):
    TrialPlan = type(trial_plan)  # noqa: N806
    TrialPlan.objects.filter(pk=trial_plan.pk).update(is_active=True)
    customer = CustomerFactory.with_balance(500_000)
    with django_capture_on_commit_callbacks(execute=True):
        trial = services.trial_start(customer_id=customer.pk)
    order = services.order_checkout(customer_id=customer.pk, plan_id=trial_plan.pk, quantity=1, idempotency_key="p").order
    paid = order.subscription
    assert paid.renewed_from_id is None and not paid.is_trial
    assert paid.starts_at < trial.expires_at  # it runs from now, beside the trial
    renewal = services.order_checkout(customer_id=customer.pk, plan_id=trial_plan.pk, quantity=1,
                                      idempotency_key="q").order.subscription
    assert renewal.renewed_from_id == paid.pk  # paid ones still renew each other
    assert not DomainEvent.objects.filter(name="subscription_extended", payload__previous_id=trial.pk).exists()


def test_my_services_groups_by_chain(stub):
    from vpnbot.shop import selectors

    customer = CustomerFactory.with_balance(500_000)
    plan, other = PlanFactory(), PlanFactory()
    buy = partial(services.order_checkout, customer_id=customer.pk, quantity=1)
    first = buy(plan_id=plan.pk, idempotency_key="a").order.subscription
    renewal = buy(plan_id=plan.pk, idempotency_key="b").order.subscription
    third = buy(plan_id=other.pk, idempotency_key="c").order.subscription
    found = selectors.services_for(customer)
    assert [(s.current.pk, [m.pk for m in s.members]) for s in found] == [(first.pk, [first.pk, renewal.pk]),
                                                                         (third.pk, [third.pk])]
    assert found[0].expires_at == renewal.expires_at
