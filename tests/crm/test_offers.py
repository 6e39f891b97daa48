from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from crm.models import PersonalizedOffer, UserProfile
from crm.selectors import offers_for
from crm.services import CrmError, offer_create, offer_send_winback, offers_expire, profiles_recompute
from discounts.models import SmartDiscount
from notifications.models import Notification
from tests.conftest import run_threads
from tests.crm.factories import CustomerFactory, PlanFactory, buy
from vpnbot.core import bounds
from vpnbot.shop import services as shop

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def crm_on(settings):
    settings.ENABLE_CRM = True
    settings.ENABLE_SMART_DISCOUNTS = True
    settings.DEFAULT_CASHBACK_PERCENT = 0
    settings.CRM_AT_RISK_DAYS = 5
    settings.CRM_RENEWAL_OFFER_BP = 1500
    settings.CRM_RENEWAL_OFFER_HOURS = 72
    settings.CRM_VIP_CASHBACK_BP = 0


def at_risk_customer(plan):
    customer = CustomerFactory.with_balance(1_000_000, joined_at=timezone.now() - timedelta(days=60))
    buy(customer, plan, at=timezone.now() - timedelta(days=27))  # ends in 3 days
    return customer


def test_at_risk_gets_one_renewal_code_redeemable_once():
    plan = PlanFactory(price_amount=100_000, duration_days=30)
    customer = at_risk_customer(plan)
    run = profiles_recompute()
    assert run.offers == 1
    offer = PersonalizedOffer.objects.get(customer=customer)
    assert offer.kind == "renewal" and offer.percent_bp == 1500 and offer.code
    assert offer.plan_id == plan.pk
    assert timedelta(hours=71) < offer.valid_until - timezone.now() <= timedelta(hours=72)
    assert profiles_recompute().offers == 0  # same At Risk episode: no second code
    told = Notification.objects.get(customer=customer, type="new_discount")
    assert offer.code in told.text and told.buttons[0][0][1] == f"buy:p:{plan.pk}:{offer.code}"
    assert offers_for(customer=customer) == [offer]

    first = shop.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="o1",
                                code=offer.code).order
    assert first.discount_amount == 15_000
    offer.refresh_from_db()
    assert offer.status == "used" and offer.order_id == first.pk
    assert offers_for(customer=customer) == []

    second = shop.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="o2",
                                 code=offer.code).order
    assert second.discount_amount == 0  # the single-use code is spent


def test_expired_offers_disappear():
    plan = PlanFactory(duration_days=30)
    customer = at_risk_customer(plan)
    profiles_recompute()
    offer = PersonalizedOffer.objects.get(customer=customer)
    with time_machine.travel(offer.valid_until + timedelta(seconds=1)):
        assert offers_for(customer=customer) == []
        assert offers_expire() == 1
    offer.refresh_from_db()
    assert offer.status == "expired"


def test_churned_and_vip_rules(settings):
    settings.CRM_VIP_CASHBACK_BP = 1000
    settings.CRM_VIP_MIN_RFM = 3  # every active buyer with 1-1-1 and up
    plan = PlanFactory(duration_days=30)
    churned = CustomerFactory(joined_at=timezone.now() - timedelta(days=200))
    buy(churned, plan, at=timezone.now() - timedelta(days=90))
    vip = CustomerFactory(joined_at=timezone.now() - timedelta(days=200))
    buy(vip, plan, at=timezone.now() - timedelta(days=2))
    profiles_recompute()
    assert UserProfile.objects.get(customer=churned).segment == "churned"
    assert UserProfile.objects.get(customer=vip).segment == "vip"
    win = PersonalizedOffer.objects.get(customer=churned)
    assert win.kind == "win_back" and win.percent_bp == settings.CRM_WINBACK_OFFER_BP
    cashback = PersonalizedOffer.objects.get(customer=vip)
    assert cashback.kind == "vip_cashback" and cashback.discount_ref.startswith("cashback_rule:") and not cashback.code
    assert profiles_recompute().offers == 0



def test_win_back_button_after_the_episode_offer_was_used_makes_a_fresh_one(settings):
    settings.CRM_AUTO_OFFERS = False
    customer = at_risk_customer(PlanFactory(duration_days=30))
    profiles_recompute(make_offers=False)
    first, created = offer_send_winback(customer=customer)
    assert created
    PersonalizedOffer.objects.filter(pk=first.pk).update(status="used")  # this episode's offer is spent
    second, created = offer_send_winback(customer=customer)
    assert created and second.pk != first.pk and second.code != first.code
    assert second.status == "active" and offers_for(customer=customer) == [second]
    again, created = offer_send_winback(customer=customer)
    assert (again.pk, created) == (second.pk, False)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_admins_pressing_win_back_at_once_make_one_offer(settings):
    settings.CRM_AUTO_OFFERS = False
    customer = at_risk_customer(PlanFactory(duration_days=30))
    profiles_recompute(make_offers=False)
    first, created = offer_send_winback(customer=customer)
    assert created
    PersonalizedOffer.objects.filter(pk=first.pk).update(status="used")  # this episode's offer is spent
    results = run_threads(lambda i: offer_send_winback(customer=customer), 4)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(created for _offer, created in results) == [False, False, False, True]
    assert PersonalizedOffer.objects.filter(customer=customer, status="active").count() == 1


@pytest.mark.parametrize("valid_for", [timedelta(hours=10**9), timedelta(days=bounds.MAX_DAYS + 1)])
def test_an_offer_valid_beyond_the_bounds_is_refused_and_makes_nothing(valid_for):
    customer = CustomerFactory()
    with pytest.raises(CrmError):
        offer_create(customer=customer, kind=PersonalizedOffer.Kind.RENEWAL, percent_bp=1500, valid_for=valid_for)
    assert not PersonalizedOffer.objects.exists() and not SmartDiscount.objects.exists()
