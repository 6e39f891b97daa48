"""/create_campaign end to end: segments, text, offer, the preview and its confirmation."""


import pytest

from crm.models import Campaign, CampaignRecipient
from crm.services import profiles_recompute
from tests.crm.helpers import at_risk

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("crm_on")]


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


@pytest.mark.parametrize("answer", ["91", "-5", "1000000", "۹۵", "15.5", "²"])
def test_the_offer_step_refuses_a_percent_out_of_bounds_and_asks_again(bot, tg_admin, fake_telegram, answer):
    bot.send(tg_admin, "/create_campaign")
    bot.send(tg_admin, "all")
    bot.send(tg_admin, "Hi {first_name}")
    bot.send(tg_admin, answer)
    assert "between 0 and 90" in fake_telegram.last_text(tg_admin.id)
    assert not Campaign.objects.exists()
    bot.send(tg_admin, "۱۵")  # still asked: Persian digits are read
    assert Campaign.objects.get().offer_percent_bp == 1500


def test_a_campaign_stored_out_of_bounds_is_refused_by_the_send_button(bot, tg_admin, fake_telegram):
    at_risk(1)
    profiles_recompute(make_offers=False)
    campaign = Campaign.objects.create(name="Old", text="Hi", offer_percent_bp=1000)
    Campaign.objects.filter(pk=campaign.pk).update(offer_valid_hours=10**9, conversion_days=5000)
    bot.press(tg_admin, f"crm:cs:{campaign.pk}")
    answers = [c.params.get("text", "") for c in fake_telegram.calls_to("answerCallbackQuery")]
    assert any("offer_valid_hours" in a or "out of bounds" in a for a in answers), answers
    assert Campaign.objects.get(pk=campaign.pk).status == "draft" and not CampaignRecipient.objects.exists()
