from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Campaign, CampaignRecipient, PersonalizedOffer
from crm.services import offer_create, profiles_recompute
from tests.conftest import TelegramUser
from tests.crm.factories import CustomerFactory, PlanFactory, buy

pytestmark = pytest.mark.django_db
ADMIN_COMMANDS = ["/crm_dashboard", "/user_analytics @x", "/create_campaign", "/campaign_stats", "/at_risk_users"]


@pytest.fixture(autouse=True)
def crm_on(settings):
    settings.ENABLE_CRM = True
    settings.CRM_AUTO_OFFERS = False
    settings.DEFAULT_CASHBACK_PERCENT = 0
    settings.CRM_AT_RISK_DAYS = 5


@pytest.fixture
def en_user():
    return TelegramUser(7_000_123, first_name="Sam", username="sam", language_code="en")


def customer_of(user):
    from vpnbot.shop.models import Customer

    return Customer.objects.get(telegram_id=user.id)


def at_risk(n=1, plan=None):
    plan = plan or PlanFactory(duration_days=30)
    out = []
    for i in range(n):
        customer = CustomerFactory(joined_at=timezone.now() - timedelta(days=60), username=f"risky{i}", language="en")
        buy(customer, plan, at=timezone.now() - timedelta(days=27))
        out.append(customer)
    return out


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


CUSTOMER_COMMANDS = ["/my_profile", "/my_offers", "/my_insights"]


def test_every_crm_command_is_covered_below():
    from crm import handlers

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


def test_dashboard_sends_a_chart(bot, tg_admin, fake_telegram):
    at_risk(2)
    profiles_recompute(make_offers=False)
    bot.send(tg_admin, "/crm_dashboard")
    photo = fake_telegram.calls_to("sendPhoto", tg_admin.id)[-1]
    assert "photo" in photo.files
    caption = photo.params["caption"]
    assert "CRM dashboard" in caption and "At Risk: 2" in caption and "Churn rate" in caption
    assert "Funnel:" in caption and "2 bought" in caption


def test_user_analytics(bot, tg_admin, fake_telegram):
    customer = at_risk(1)[0]
    profiles_recompute(make_offers=False)
    bot.send(tg_admin, f"/user_analytics @{customer.username}")
    text = fake_telegram.last_text(tg_admin.id)
    assert "Segment: At Risk" in text and "Journey:" in text and "Visitor → At risk" in text
    bot.send(tg_admin, "/user_analytics @nobody_here")
    assert "No customer @nobody_here" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "/user_analytics")
    assert "Usage:" in fake_telegram.last_text(tg_admin.id)


def test_create_campaign_dialog_with_preview_and_confirmation(bot, tg_admin, fake_telegram):
    at_risk(2)
    profiles_recompute(make_offers=False)
    bot.send(tg_admin, "/create_campaign")
    assert "step 1 of 3" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "at_risky")
    assert "Unknown segment" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "at_risk")
    bot.send(tg_admin, "Hi {nickname}")
    assert "Unknown placeholder" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "Hi {first_name}, we miss you")
    bot.send(tg_admin, "150")
    assert "between 0 and 90" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "0")
    text = fake_telegram.last_text(tg_admin.id)
    assert "Hi Admin, we miss you" in text and "Send it now to 2 customers?" in text
    campaign = Campaign.objects.get()
    assert campaign.status == "draft" and not CampaignRecipient.objects.exists()
    bot.press_button(tg_admin, "Send to 2 customers")
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 2
    assert "is being sent" in fake_telegram.last_text(tg_admin.id)
    bot.press(tg_admin, f"crm:cs:{campaign.pk}")  # pressed twice: nothing more
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 2
    bot.send(tg_admin, f"/campaign_stats {campaign.pk}")
    assert "Targeted 2" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "/campaign_stats 99999")
    assert "No campaign #99999" in fake_telegram.last_text(tg_admin.id)


def test_campaign_button_shows_the_offer(bot, en_user, fake_telegram, django_capture_on_commit_callbacks):
    from crm.services import campaign_create, campaign_start

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


def test_at_risk_users_pages_and_win_back_button(bot, tg_admin, fake_telegram):
    customers = at_risk(10)
    profiles_recompute(make_offers=False)
    bot.send(tg_admin, "/at_risk_users")
    assert "At-risk customers: 10 (page 1/2)" in fake_telegram.last_text(tg_admin.id)
    buttons = fake_telegram.buttons(tg_admin.id)
    assert [b["callback_data"] for b in buttons if b["callback_data"].startswith("crm:ar:")] == ["crm:ar:1"]
    bot.press(tg_admin, "crm:ar:1")
    assert "page 2/2" in fake_telegram.last_text(tg_admin.id)
    target = customers[0]
    bot.press(tg_admin, f"crm:wb:{target.pk}")
    offer = PersonalizedOffer.objects.get(customer=target)
    assert offer.kind == "renewal" and offer.code
    assert f"Offer {offer.code} sent" in fake_telegram.calls_to("answerCallbackQuery")[-1].params["text"]
    bot.press(tg_admin, f"crm:wb:{target.pk}")
    assert PersonalizedOffer.objects.filter(customer=target).count() == 1
    assert "already has this offer" in fake_telegram.calls_to("answerCallbackQuery")[-1].params["text"]
    from notifications.models import Notification

    assert Notification.objects.filter(customer=target, type="new_discount").count() == 1


def test_odd_digits_are_refused_not_a_crash(bot, tg_admin, fake_telegram):
    """"²".isdigit() is true, yet int("²") fails: each gets the usage message and changes nothing."""
    at_risk(1)
    profiles_recompute(make_offers=False)
    for arg in ("²", "१२", "9" * 30):
        bot.send(tg_admin, f"/campaign_stats {arg}")
        assert "Usage: /campaign_stats" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "/create_campaign")
    bot.send(tg_admin, "at_risk")
    bot.send(tg_admin, "Hello")
    for raw in ("²", "1²", "१५"):
        bot.send(tg_admin, raw)
        assert "between 0 and 90" in fake_telegram.last_text(tg_admin.id)
    assert not Campaign.objects.exists()
    bot.send(tg_admin, "۱۵")  # Persian digits are fine
    assert Campaign.objects.get().offer_percent_bp == 1500


def test_at_risk_users_with_no_one_at_risk(bot, tg_admin, fake_telegram):
    CustomerFactory()
    profiles_recompute(make_offers=False)
    bot.send(tg_admin, "/at_risk_users")
    assert fake_telegram.last_text(tg_admin.id) == "No customers are at risk right now. 🎉"
    assert not fake_telegram.buttons(tg_admin.id)


@pytest.mark.parametrize(("arg", "shown"), [
    ("2", "page 2/2"), ("۲", "page 2/2"), ("999", "page 2/2"), ("0", "page 1/2"), ("-1", "page 1/2"),
    ("1", "page 1/2"), ("9" * 30, None), ("two", None), ("²", None)])
def test_at_risk_users_page_out_of_range_shows_the_first_or_last(bot, tg_admin, fake_telegram, arg, shown):
    at_risk(10)
    profiles_recompute(make_offers=False)
    bot.send(tg_admin, f"/at_risk_users {arg}")
    text = fake_telegram.last_text(tg_admin.id)
    if shown is None:
        assert text == "Usage: /at_risk_users [page number]"
        return
    assert f"At-risk customers: 10 ({shown})" in text
    listed = [line for line in text.splitlines() if line.startswith("• ")]
    assert len(listed) == (2 if shown == "page 2/2" else 8)


def test_an_out_of_range_page_button_shows_the_last_page(bot, tg_admin, fake_telegram):
    at_risk(3)
    profiles_recompute(make_offers=False)
    bot.press(tg_admin, "crm:ar:999")
    edited = fake_telegram.calls_to("editMessageText", tg_admin.id)[-1].params["text"]
    assert "At-risk customers: 3 (page 1/1)" in edited and edited.count("• ") == 3


def test_campaign_button_records_nothing_while_the_crm_is_off(bot, en_user, fake_telegram, settings,
                                                               django_capture_on_commit_callbacks):
    from crm.models import UserActivity
    from crm.services import campaign_create, campaign_start

    customer = customer_of(bot.send(en_user, "/start") and en_user)
    buy(customer, PlanFactory(), at=timezone.now() - timedelta(days=27))
    profiles_recompute(make_offers=False)
    campaign = campaign_create(name="c", text="Hello", segments=["at_risk"])
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk)
    recipient = CampaignRecipient.objects.get(campaign=campaign)
    settings.ENABLE_CRM = False
    bot.press(en_user, f"crm:c:{recipient.pk}")
    assert fake_telegram.calls_to("answerCallbackQuery")[-1].params["text"] == "The CRM is switched off."
    recipient.refresh_from_db()
    assert recipient.pressed_at is None
    assert not UserActivity.objects.filter(kind="campaign_pressed").exists()
    settings.ENABLE_CRM = True
    bot.press(en_user, f"crm:c:{recipient.pk}")
    recipient.refresh_from_db()
    assert recipient.pressed_at is not None
    assert UserActivity.objects.filter(customer=customer, kind="campaign_pressed").count() == 1
