"""Who a scheduled message can go to, from the shop's audience registry (this app imports no
other feature app): everyone, active subscribers, holders of a plan, subscriptions expiring
within N days, the customers of one language, a list of Telegram ids (CSV), a CRM segment and
the resellers (registered by their own apps)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import UserProfile
from resellers.models import Reseller
from tests.factories import CustomerFactory, PlanFactory, SubscriptionFactory
from vpnbot.shop import audiences
from vpnbot.shop.models import Subscription

pytestmark = pytest.mark.django_db


def members(key, params=None) -> set[int]:
    return set(audiences.audience_queryset(key, params).values_list("pk", flat=True))


def test_subscribers_plan_holders_and_expiring_soon():
    gold, silver = PlanFactory(name="Gold"), PlanFactory(name="Silver")
    now = timezone.now()
    soon = SubscriptionFactory(plan=gold, expires_at=now + timedelta(days=2))
    later = SubscriptionFactory(plan=silver, expires_at=now + timedelta(days=20))
    SubscriptionFactory(plan=gold, status=Subscription.Status.EXPIRED, expires_at=now - timedelta(days=1))
    renewed = SubscriptionFactory(plan=gold, expires_at=now + timedelta(days=1))
    SubscriptionFactory(customer=renewed.customer, plan=gold, renewed_from=renewed, starts_at=renewed.expires_at,
                        expires_at=renewed.expires_at + timedelta(days=30))
    SubscriptionFactory(plan=gold, resold=True)  # a reseller's account for one of their customers
    CustomerFactory()
    assert members("active") == {soon.customer_id, later.customer_id, renewed.customer_id}
    assert members("plan", {"plan": gold.pk}) == {soon.customer_id, renewed.customer_id}
    assert members("plan", {"plan": str(silver.pk)}) == {later.customer_id}
    assert members("expiring", {"days": 3}) == {soon.customer_id}  # the renewed one is not expiring
    assert members("expiring", {"days": "۳۰"}) == {soon.customer_id, later.customer_id}
    with pytest.raises(audiences.AudienceError):
        audiences.audience_clean("plan", {"plan": 999_999})
    with pytest.raises(audiences.AudienceError):
        audiences.audience_clean("expiring", {"days": 366})
    with pytest.raises(audiences.AudienceError):
        audiences.audience_clean("expiring", {"days": 3, "plan": 1})
    assert audiences.audience_describe("plan", {"plan": gold.pk}) in ("Holders of a plan (Gold)", "دارندگان یک پلن (Gold)")


def test_the_customers_of_one_language(settings):
    settings.LANGUAGE_CODE = "fa"
    chose_en = CustomerFactory(language="en")
    app_en = CustomerFactory(language="", telegram_language="en-US")
    chose_fa = CustomerFactory(language="fa", telegram_language="en")
    app_unknown = CustomerFactory(language="", telegram_language="de")  # the shop's language
    assert members("language", {"language": "en"}) == {chose_en.pk, app_en.pk}
    assert members("language", {"language": "fa"}) == {chose_fa.pk, app_unknown.pk}
    for customer in (chose_en, app_en, chose_fa, app_unknown):
        assert customer.pk in members("language", {"language": customer.effective_language})


def test_a_list_of_telegram_ids_from_csv():
    a, b = CustomerFactory(), CustomerFactory()
    CustomerFactory()
    csv = f"telegram_id,name\n{a.telegram_id},Sara\n{b.telegram_id};Ali\n\n{a.telegram_id}\n۱۲۳,nobody\n"
    clean = audiences.audience_clean("telegram_ids", {"ids": csv})
    assert clean == {"ids": [a.telegram_id, b.telegram_id, 123]}
    assert members("telegram_ids", clean) == {a.pk, b.pk}  # 123 is no customer: nobody to write to
    with pytest.raises(audiences.AudienceError):
        audiences.parse_ids(",".join(str(n) for n in range(1, audiences.MAX_IDS + 2)))


def test_a_crm_segment_and_the_resellers_come_from_their_own_apps():
    at_risk, vip = CustomerFactory(), CustomerFactory()
    UserProfile.objects.create(customer=at_risk, segment="at_risk")
    UserProfile.objects.create(customer=vip, segment="vip")
    assert members("crm_at_risk") == {at_risk.pk}
    seller = CustomerFactory()
    Reseller.objects.create(customer=seller)
    Reseller.objects.create(customer=CustomerFactory(), is_active=False)
    assert members("resellers") == {seller.pk}
    assert {"all", "active", "plan", "expiring", "language", "telegram_ids", "crm_at_risk", "resellers"} <= {
        a.key for a in audiences.audiences()}
    # a broadcast has no parameters to give: it is offered the audiences without any
    assert {a.key for a in audiences.audiences(with_params=False)} & {"plan", "expiring", "language", "telegram_ids"} == set()


def test_who_blocked_the_bot_is_never_in_an_audience():
    CustomerFactory(blocked_at=timezone.now(), language="en")
    assert members("language", {"language": "en"}) == set()
