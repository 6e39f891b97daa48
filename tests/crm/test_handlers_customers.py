"""The customers' commands end to end: /my_profile, /my_offers, /my_insights and a campaign's
button."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import CampaignRecipient, PersonalizedOffer
from crm.services import campaign_create, campaign_start, offer_create, profiles_recompute
from tests.crm.factories import PlanFactory, buy
from tests.crm.helpers import customer_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("crm_on")]


def test_my_profile_before_and_after_a_purchase(bot, en_user, fake_telegram):
    bot.send(en_user, "/my_profile")
    assert "No purchases yet" in fake_telegram.last_text(en_user.id)
    plan = PlanFactory(name="Gold", price_amount=120_000)
    buy(customer_of(en_user), plan, at=timezone.now() - timedelta(days=1))
    profiles_recompute(make_offers=False)
    bot.send(en_user, "/my_profile")
    text = fake_telegram.last_text(en_user.id)
    assert "Orders: 1" in text and "120,000" in text and "Favourite plan: Gold" in text


def test_my_profile_in_persian(bot, tg_user, fake_telegram):
    bot.send(tg_user, "/my_profile")
    assert "پروفایل" in fake_telegram.last_text(tg_user.id)


def test_my_offers_button_starts_the_purchase_with_the_code(bot, en_user, fake_telegram):
    bot.send(en_user, "/my_offers")
    assert "no offers" in fake_telegram.last_text(en_user.id)
    customer = customer_of(en_user)
    plan = PlanFactory(name="Silver", price_amount=100_000)
    buy(customer, plan, at=timezone.now() - timedelta(days=27))
    profiles_recompute(make_offers=False)
    offer = offer_create(customer=customer, kind="renewal", percent_bp=1500, valid_for=timedelta(hours=72))
    bot.send(en_user, "/my_offers")
    assert offer.code in fake_telegram.last_text(en_user.id) and "15%" in fake_telegram.last_text(en_user.id)
    button = fake_telegram.buttons(en_user.id)[0]
    assert button["callback_data"] == f"buy:p:{plan.pk}:{offer.code}"
    bot.press(en_user, button["callback_data"])
    assert "How many periods" in fake_telegram.last_text(en_user.id)
    PersonalizedOffer.objects.filter(pk=offer.pk).update(status="used")
    bot.send(en_user, "/my_offers")
    assert "no offers" in fake_telegram.last_text(en_user.id)


def test_my_insights(bot, en_user, fake_telegram):
    bot.send(en_user, "/my_insights")
    assert "Nothing to tell you yet" in fake_telegram.last_text(en_user.id)
    customer = customer_of(en_user)
    plan = PlanFactory()
    buy(customer, plan, at=timezone.now() - timedelta(days=20), discount=1000)
    buy(customer, plan, at=timezone.now() - timedelta(days=2), discount=1000)
    profiles_recompute(make_offers=False)
    bot.send(en_user, "/my_insights")
    assert "discount every time" in fake_telegram.last_text(en_user.id)


def test_campaign_button_shows_the_offer(bot, en_user, fake_telegram, django_capture_on_commit_callbacks):
    customer = customer_of(bot.send(en_user, "/start") and en_user)
    plan = PlanFactory(name="Bronze")
    buy(customer, plan, at=timezone.now() - timedelta(days=27))
    profiles_recompute(make_offers=False)
    campaign = campaign_create(name="c", text="Hello", segments=["at_risk"], offer_percent_bp=1000)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    recipient = CampaignRecipient.objects.get(campaign=campaign)
    bot.press(en_user, f"crm:c:{recipient.pk}")
    assert fake_telegram.buttons(en_user.id)[0]["callback_data"] == f"buy:p:{plan.pk}:{recipient.offer.code}"
    recipient.refresh_from_db()
    assert recipient.pressed_at is not None
