import pytest

from resellers import services
from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop.models import Subscription, WalletTransaction
from vpnbot.shop.services import InsufficientBalance, order_refund, wallet_apply

pytestmark = pytest.mark.django_db


def test_sub_reseller_buys_parent_earns_and_gives_back_within_credit(django_capture_on_commit_callbacks, fake_telegram):
    plan = PlanFactory(price_amount=100_000)
    parent_c, sub_c = CustomerFactory(), CustomerFactory()
    parent = services.reseller_promote(customer_id=parent_c.pk, by="t", discount_bp=2000, floor_bp=8500,
                                       credit_limit_amount=70_000)
    sub = services.sub_reseller_invite(parent_id=parent.pk, customer_id=sub_c.pk, markup_bp=1000)
    services.reseller_update(reseller_id=sub.pk, by="t", commission_bp=1000)
    assert services.reseller_unit_price(parent, plan) == 80_000
    sub.refresh_from_db()
    assert services.reseller_unit_price(sub, plan) == 88_000
    wallet_apply(customer_id=sub_c.pk, amount=200_000, reason="topup", source="t:1")
    with django_capture_on_commit_callbacks(execute=True):
        p = services.reseller_buy(reseller_id=sub.pk, plan_id=plan.pk, quantity=2, labels="Ali", idempotency_key="k1")
    assert [a.label for a in p.accounts] == ["Ali 1", "Ali 2"]
    sub_c.refresh_from_db()
    parent_c.refresh_from_db()
    assert sub_c.balance_amount == 200_000 - 176_000
    assert parent_c.balance_amount == 2 * 8_800
    again = services.reseller_buy(reseller_id=sub.pk, plan_id=plan.pk, quantity=2, labels="Ali", idempotency_key="k1")
    assert not again.created
    with pytest.raises(InsufficientBalance):
        services.reseller_buy(reseller_id=sub.pk, plan_id=plan.pk, quantity=1, idempotency_key="k2")
    # parent: credit
    with django_capture_on_commit_callbacks(execute=True):
        services.reseller_buy(reseller_id=parent.pk, plan_id=plan.pk, quantity=1, idempotency_key="k3")
    parent_c.refresh_from_db()
    assert parent_c.balance_amount == 17_600 - 80_000
    acc = p.accounts[0]
    order = acc.first_subscription.order
    order_refund(order_id=order.pk, reason="x", by="t")
    parent_c.refresh_from_db()
    # 8,800 to take back, but the parent's credit ends at -70,000: 7,600 taken, 1,200 not recovered
    assert parent_c.balance_amount == -70_000
    commission = order.reseller_commission
    commission.refresh_from_db()
    assert (commission.reversed_amount, commission.unrecovered_amount) == (7_600, 1_200)
    assert Subscription.objects.filter(resold=True).count() == 3
    assert WalletTransaction.objects.filter(reason="commission_reversal").count() == 1
    with pytest.raises(services.NotFound):
        services.account_of(reseller_id=parent.pk, account_id=acc.pk)
