"""Referrals (services.referrals): one referrer, rewarded once on the first paid order."""

import pytest

from tests.factories import CustomerFactory, PlanFactory
from tests.shop.conftest import ledger_sum
from vpnbot.shop import services
from vpnbot.shop.models import ReferralReward


@pytest.mark.django_db
class TestReferrals:
    def test_reward_once_on_the_first_paid_order(self, settings):
        settings.REFERRAL_REWARD_PERCENT = 10
        referrer = CustomerFactory()
        friend = CustomerFactory.with_balance(1_000_000)
        assert services.customer_apply_referral(customer=friend, code=referrer.referral_code)
        plan = PlanFactory(price_amount=200_000)
        services.order_checkout(customer_id=friend.pk, plan_id=plan.pk, quantity=1, idempotency_key="f1")
        services.order_checkout(customer_id=friend.pk, plan_id=plan.pk, quantity=1, idempotency_key="f2")
        referrer.refresh_from_db()
        assert referrer.balance_amount == 20_000 == ledger_sum(referrer)
        assert ReferralReward.objects.count() == 1

    def test_self_and_second_referrer_refused(self):
        me = CustomerFactory()
        assert not services.customer_apply_referral(customer=me, code=me.referral_code)
        first, second = CustomerFactory(), CustomerFactory()
        assert services.customer_apply_referral(customer=me, code=first.referral_code)
        assert not services.customer_apply_referral(customer=me, code=second.referral_code)
        me.refresh_from_db()
        assert me.referred_by_id == first.pk
        assert not services.customer_apply_referral(customer=first, code=me.referral_code)  # no cycles
