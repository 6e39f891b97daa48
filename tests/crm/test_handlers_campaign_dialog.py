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
