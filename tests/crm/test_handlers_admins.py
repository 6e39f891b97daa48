"""The admins' commands end to end: the dashboard chart, /user_analytics, /at_risk_users with its
pages and win-back buttons, and odd digits."""


import pytest

from crm.models import Campaign, PersonalizedOffer
from crm.services import profiles_recompute
from notifications.models import Notification
from tests.crm.factories import CustomerFactory
from tests.crm.helpers import at_risk

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("crm_on")]


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
    assert Notification.objects.filter(customer=target, type="new_discount").count() == 1


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
