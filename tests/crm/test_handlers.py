"""The CRM's handlers as a whole: every command registered and covered, the ENABLE_CRM switch,
and admins' commands and buttons refused to customers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm import handlers
from crm.models import Campaign, CampaignRecipient, PersonalizedOffer, UserActivity
from crm.services import campaign_create, campaign_start, profiles_recompute
from tests.crm.factories import PlanFactory, buy
from tests.crm.helpers import at_risk, customer_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("crm_on")]

ADMIN_COMMANDS = ["/crm_dashboard", "/user_analytics @x", "/create_campaign", "/campaign_stats", "/at_risk_users"]

CUSTOMER_COMMANDS = ["/my_profile", "/my_offers", "/my_insights"]


def test_every_crm_command_is_covered_below():
    class Collect:
        def __init__(self):
            self.handlers = []

        def add_handler(self, handler):
            self.handlers.append(handler)

    app = Collect()
    handlers.register(app)
    registered = set().union(*(getattr(h, "commands", ()) for h in app.handlers))
    covered = {c.split()[0].lstrip("/") for c in CUSTOMER_COMMANDS + ADMIN_COMMANDS}
    assert len(registered) == 8 and registered == covered


@pytest.mark.parametrize("command", CUSTOMER_COMMANDS + ADMIN_COMMANDS)
def test_commands_say_the_feature_is_off(bot, en_user, tg_admin, fake_telegram, settings, command):
    at_risk(1)
    profiles_recompute(make_offers=False)
    settings.ENABLE_CRM = False
    user = tg_admin if command in ADMIN_COMMANDS else en_user
    bot.send(user, command)
    assert fake_telegram.last_text(user.id) == "This feature is switched off."
    assert not fake_telegram.calls_to("sendPhoto")
    bot.send(user, "at_risk")  # no dialog was started
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
def test_non_admins_are_refused(bot, en_user, fake_telegram, command):
    at_risk(1)
    bot.send(en_user, command)
    assert fake_telegram.last_text(en_user.id) == "Sorry, this command is for the shop's admins."
    assert not fake_telegram.calls_to("sendPhoto")
    bot.send(en_user, "at_risk")  # no dialog was started
    assert not Campaign.objects.exists()


def test_non_admin_cannot_press_admin_buttons(bot, en_user, fake_telegram):
    customer = at_risk(1)[0]
    profiles_recompute(make_offers=False)
    bot.press(en_user, f"crm:wb:{customer.pk}")
    assert not PersonalizedOffer.objects.exists()
    assert fake_telegram.calls_to("answerCallbackQuery")[-1].params["text"] == "This action is for the shop's admins."


def test_campaign_button_records_nothing_while_the_crm_is_off(bot, en_user, fake_telegram, settings,
                                                               django_capture_on_commit_callbacks):
    customer = customer_of(bot.send(en_user, "/start") and en_user)
    buy(customer, PlanFactory(), at=timezone.now() - timedelta(days=27))
    profiles_recompute(make_offers=False)
    campaign = campaign_create(name="c", text="Hello", segments=["at_risk"])
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    recipient = CampaignRecipient.objects.get(campaign=campaign)
    settings.ENABLE_CRM = False
    bot.press(en_user, f"crm:c:{recipient.pk}")
    assert fake_telegram.calls_to("answerCallbackQuery")[-1].params["text"] == "This feature is switched off."
    recipient.refresh_from_db()
    assert recipient.pressed_at is None
    assert not UserActivity.objects.filter(kind="campaign_pressed").exists()
    settings.ENABLE_CRM = True
    bot.press(en_user, f"crm:c:{recipient.pk}")
    recipient.refresh_from_db()
    assert recipient.pressed_at is not None
    assert UserActivity.objects.filter(customer=customer, kind="campaign_pressed").count() == 1


def test_a_button_of_no_known_shape_is_answered_and_changes_nothing(bot, tg_admin, fake_telegram):
    customer = at_risk(1)[0]
    profiles_recompute(make_offers=False)
    for data in (f"crm:wb:{customer.pk}x", "crm:ar:", "crm:cs:1:2", "crm:c:abc"):
        bot.press(tg_admin, data)
        assert "no longer valid" in fake_telegram.calls_to("answerCallbackQuery")[-1].params["text"]
    assert not PersonalizedOffer.objects.exists() and not Campaign.objects.exists()
