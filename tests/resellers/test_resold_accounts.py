"""Accounts a reseller bought for their customers are not the reseller's own services: not in
/my_services or the Mini App, no extra traffic through the customer's flow, no expiry
reminders or low-balance warnings for them; and a cashback taken back from a wallet in credit
takes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from discounts.models import CashbackTransaction
from discounts.services import cashback_credit, cashback_reverse
from notifications import services as notifications
from notifications.models import Notification
from tests.factories import CustomerFactory, PlanFactory
from tests.miniapp.conftest import FakeProvisioner, MiniApp
from tests.resellers.core_support import balance, buy, fund, ledger_sum, make_reseller
from vpnbot.shop import provisioning, selectors
from vpnbot.shop.models import Subscription, TrafficPack, TrafficPurchase
from vpnbot.shop.services import ShopError, order_checkout, subscription_expire_due, traffic_subscription

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0
    settings.ENABLE_AUTO_NOTIFICATIONS = True


@pytest.fixture
def plan():
    return PlanFactory(name="Gold", price_amount=100_000, duration_days=30, traffic_gb=10)


@pytest.fixture
def provisioner(monkeypatch):
    fake = FakeProvisioner()
    monkeypatch.setattr(provisioning, "_registered", fake)
    return fake


def own_and_resold(reseller, plan):
    own = order_checkout(customer_id=reseller.customer_id, plan_id=plan.pk, quantity=1, idempotency_key="own").order
    resold = buy(reseller, plan, 2, labels="Client").accounts
    return own.subscription, [a.first_subscription for a in resold]


def test_my_services_shows_the_resellers_own_services_only(plan):
    reseller = make_reseller(discount_bp=2000, balance_amount=1_000_000)
    own, resold = own_and_resold(reseller, plan)
    assert [s.pk for s in selectors.subscriptions_for(reseller.customer)] == [own.pk]
    assert [s.current.pk for s in selectors.services_for(reseller.customer)] == [own.pk]
    assert selectors.subscription_running(reseller.customer, own.pk).pk == own.pk
    assert selectors.subscription_running(reseller.customer, resold[0].pk) is None
    # the reseller's own renewal follows their own service, never a resold account
    again = order_checkout(customer_id=reseller.customer_id, plan_id=plan.pk, quantity=1, idempotency_key="own-2")
    assert again.order.subscription.renewed_from_id == own.pk
    assert Subscription.objects.filter(renewed_from__in=resold).count() == 0


def test_no_extra_traffic_for_a_resold_account_through_the_customers_flow(plan, provisioner):
    reseller = make_reseller(balance_amount=1_000_000)
    own, resold = own_and_resold(reseller, plan)
    for sub in (own, *resold):
        provisioner.give(sub)
    assert traffic_subscription(customer_id=reseller.customer_id, subscription_id=own.pk).pk == own.pk
    with pytest.raises(ShopError):
        traffic_subscription(customer_id=reseller.customer_id, subscription_id=resold[0].pk)


def test_the_mini_app_shows_no_resold_account_and_sells_it_no_traffic(client, settings, plan, provisioner):
    app = MiniApp(client, settings)
    reseller = make_reseller(customer=app.customer, balance_amount=1_000_000)
    own, resold = own_and_resold(reseller, plan)
    for sub in (own, *resold):
        provisioner.give(sub)
    pack = TrafficPack.objects.create(name="5 GB", traffic_gb=5, price_amount=10_000)
    items = app.get("subscriptions").json()["subscriptions"]
    assert [s["id"] for s in items] == [own.pk]
    assert app.post(f"subscriptions/{resold[0].pk}/link").status_code == 404
    assert app.get("traffic-packs", {"subscription": resold[0].pk}).status_code == 404
    response = app.post("traffic", {"subscription": resold[0].pk, "pack": pack.pk, "idempotency_key": "resold-traffic"})
    assert response.status_code == 404 and not TrafficPurchase.objects.exists()
    assert provisioner.new_links == 0


def test_no_expiry_reminders_for_resold_accounts(plan, fake_telegram):
    reseller = make_reseller(balance_amount=1_000_000)
    own, resold = own_and_resold(reseller, plan)
    end = own.expires_at
    with_reminders = set()
    for hours_before in (60, 12, 0):
        at = end - timedelta(hours=hours_before) + timedelta(minutes=1)
        notifications.notification_scan_expiries(now=at)
        with_reminders |= set(Notification.objects.values_list("object_id", flat=True))
    assert with_reminders == {own.pk}
    assert set(Notification.objects.values_list("type", flat=True)) == {"service_expiring", "service_expired"}


def test_no_expired_message_for_a_resold_account_when_the_shop_expires_it(plan, fake_telegram):
    reseller = make_reseller(balance_amount=1_000_000)
    _own, resold = own_and_resold(reseller, plan)
    Subscription.objects.filter(pk__in=[s.pk for s in resold]).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert subscription_expire_due() == 2
    assert not Notification.objects.filter(object_id__in=[s.pk for s in resold]).exists()
    # the customer's own expired service is still told
    own = Subscription.objects.get(customer=reseller.customer, resold=False)
    Subscription.objects.filter(pk=own.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    subscription_expire_due()
    assert Notification.objects.filter(object_id=own.pk, type="service_expired").count() == 1


def test_no_low_balance_warning_for_resold_accounts_only(plan, settings):
    settings.LOW_BALANCE_THRESHOLD = 50_000
    reseller = make_reseller(balance_amount=200_000)
    buy(reseller, plan, 2)  # running accounts, all resold; the wallet is empty now
    normal = CustomerFactory()
    fund(normal, 100_000)
    order_checkout(customer_id=normal.pk, plan_id=plan.pk, quantity=1, idempotency_key="normal")
    assert balance(reseller.customer) == 0 == balance(normal)
    assert notifications.notification_scan_wallets() == 1
    assert Notification.objects.get(type="low_balance").customer_id == normal.pk


def test_a_cashback_taken_back_from_a_wallet_in_credit_takes_nothing(plan, settings):
    settings.ENABLE_SMART_DISCOUNTS = True
    settings.DEFAULT_CASHBACK_PERCENT = 10
    settings.DEFAULT_CASHBACK_DELAY_DAYS = 0
    reseller = make_reseller(balance_amount=100_000, credit=200_000)
    order = order_checkout(customer_id=reseller.customer_id, plan_id=plan.pk, quantity=1, idempotency_key="own").order
    tx = CashbackTransaction.objects.get(order=order)
    cashback_credit(transaction_id=tx.pk)  # (due at once: it may be credited already)
    assert CashbackTransaction.objects.get(pk=tx.pk).status == "credited"
    assert balance(reseller.customer) == 10_000
    buy(reseller, plan, 2)  # on credit: 10,000 - 200,000
    assert balance(reseller.customer) == -190_000
    reversed_tx = cashback_reverse(order_id=order.pk)
    assert (reversed_tx.reversed_amount, reversed_tx.unrecovered_amount) == (0, 10_000)
    assert balance(reseller.customer) == -190_000 == ledger_sum(reseller.customer)
    assert cashback_reverse(order_id=order.pk).unrecovered_amount == 10_000  # again: nothing more


def test_a_partly_covered_cashback_takes_what_is_there(plan, settings):
    settings.ENABLE_SMART_DISCOUNTS = True
    settings.DEFAULT_CASHBACK_PERCENT = 10
    settings.DEFAULT_CASHBACK_DELAY_DAYS = 0
    customer = CustomerFactory()
    fund(customer, 100_000)
    order = order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="c").order
    cashback_credit(transaction_id=CashbackTransaction.objects.get(order=order).pk)
    tx = cashback_reverse(order_id=order.pk, refunded_amount=100_000)
    assert (tx.reversed_amount, tx.unrecovered_amount) == (10_000, 0)
    assert balance(customer) == 0 == ledger_sum(customer)
