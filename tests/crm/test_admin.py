"""The CRM in the Django admin: pages, send with a confirmation, edits and deletes that never
undo a started campaign, view-only staff, and the stop action (with the API's)."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission, User
from django.contrib.messages.storage.fallback import FallbackStorage
from django.utils import timezone

from crm.models import Campaign, CampaignRecipient, UserActivity, UserProfile
from notifications.models import Notification
from tests.admin_i18n import FSI, PDI, assert_shows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


def test_admin_pages_and_send_confirmation(client, staff, data, django_capture_on_commit_callbacks):
    risky, _fresh = data
    client.force_login(staff)
    profile = UserProfile.objects.get(customer=risky)
    page = client.get(f"/admin/crm/userprofile/{profile.pk}/change/")
    assert page.status_code == 200 and "/plans" in page.content.decode()
    assert client.get("/admin/crm/userprofile/?segment__exact=at_risk").status_code == 200
    for model in ("useractivity", "customerjourney", "userinsight", "personalizedoffer", "recomputerun", "campaign"):
        assert client.get(f"/admin/crm/{model}/").status_code == 200
    campaign = Campaign.objects.create(name="Admin one", text="Hello {first_name}", segments=["at_risk"])
    assert "Hello" in client.get(f"/admin/crm/campaign/{campaign.pk}/change/").content.decode()
    confirm = client.post("/admin/crm/campaign/", {"action": "send", "_selected_action": [campaign.pk]})
    assert confirm.status_code == 200 and "Admin one: 1 recipient" in confirm.content.decode()
    assert not CampaignRecipient.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/crm/campaign/", {"action": "send", "_selected_action": [campaign.pk], "confirm": "yes"})
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 1
    bad = client.post("/admin/crm/campaign/add/", {"name": "x", "text": "Hi {nobody}", "segments": "[]",
                                                   "condition": "{}", "buttons": "[]", "offer_percent_bp": 0,
                                                   "offer_valid_hours": 72, "conversion_days": 7})
    assert bad.status_code == 200 and "Unknown placeholder" in bad.content.decode()
    assert Campaign.objects.count() == 1
    assert UserActivity.objects.exists()


def test_an_admin_edit_never_overwrites_a_campaign_that_started_meanwhile(rf, staff, data):
    campaign = Campaign.objects.create(name="Admin one", text="Hello", segments=["at_risk"], status="scheduled")
    model_admin = site._registry[Campaign]
    form_class = model_admin.get_form(None, campaign)
    stale = Campaign.objects.get(pk=campaign.pk)  # what the form was built from
    form = form_class({"name": "Edited", "text": "Hello", "segments": '["at_risk"]', "condition": "",
                       "buttons": "[]", "offer_percent_bp": 0, "offer_valid_hours": 72, "conversion_days": 7},
                      instance=stale)
    assert form.is_valid(), form.errors
    Campaign.objects.filter(pk=campaign.pk).update(status="sending")  # beat started it meanwhile
    request = rf.post("/admin/crm/campaign/")
    request.user = staff
    request.session = {}
    request._messages = FallbackStorage(request)
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Admin one", "sending")
    assert "started meanwhile" in " ".join(str(m) for m in request._messages)


def test_view_only_staff_cannot_send_or_cancel_campaigns(client, data, django_capture_on_commit_callbacks):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(viewer)
    draft = Campaign.objects.create(name="Draft", text="Hello", segments=["at_risk"])
    scheduled = Campaign.objects.create(name="Later", text="Hello", segments=["at_risk"], status="scheduled",
                                        scheduled_for=timezone.now() + timedelta(days=1))
    assert client.get("/admin/crm/campaign/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/crm/campaign/", {"action": "send", "_selected_action": [draft.pk], "confirm": "yes"})
        client.post("/admin/crm/campaign/", {"action": "cancel", "_selected_action": [scheduled.pk]})
    assert Campaign.objects.get(pk=draft.pk).status == "draft"
    assert Campaign.objects.get(pk=scheduled.pk).status == "scheduled"
    assert not CampaignRecipient.objects.exists()


def test_admin_deletes_only_drafts(client, staff, data):
    client.force_login(staff)
    draft = Campaign.objects.create(name="Draft", text="Hello", segments=["at_risk"])
    started = Campaign.objects.create(name="Going", text="Hello", segments=["at_risk"], status="sending")
    risky, _fresh = data
    CampaignRecipient.objects.create(campaign=started, customer=risky)
    assert client.post(f"/admin/crm/campaign/{started.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post("/admin/crm/campaign/", {"action": "delete_selected", "_selected_action": [started.pk, draft.pk],
                                         "post": "yes"})
    assert Campaign.objects.filter(pk=started.pk).exists()
    assert CampaignRecipient.objects.filter(campaign=started).count() == 1  # a rerun still skips this customer
    client.post("/admin/crm/campaign/", {"action": "delete_selected", "_selected_action": [draft.pk], "post": "yes"})
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    recipient = CampaignRecipient.objects.get()
    client.post(f"/admin/crm/campaignrecipient/{recipient.pk}/delete/", {"post": "yes"})
    assert CampaignRecipient.objects.filter(pk=recipient.pk).exists()


def test_the_admin_refuses_a_campaign_the_delivery_could_not_send(client, staff, data):
    """An offer over 100% (or a window out of range) used to be saved from the admin and then
    fail at delivery, leaving the campaign stuck in `sending`."""
    client.force_login(staff)
    form = {"name": "Too generous", "text": "Hi {first_name}", "segments": '["at_risk"]', "condition": "{}",
            "buttons": "[]", "offer_percent_bp": 20000, "offer_valid_hours": 72, "conversion_days": 7}
    bad = client.post("/admin/crm/campaign/add/", form)
    assert bad.status_code == 200 and "between 0 and 100%" in bad.content.decode()
    bad = client.post("/admin/crm/campaign/add/", {**form, "offer_percent_bp": 1500, "conversion_days": 400})
    assert bad.status_code == 200 and "1 to 90 days" in bad.content.decode()
    assert not Campaign.objects.exists()
    ok = client.post("/admin/crm/campaign/add/", {**form, "offer_percent_bp": 1500})
    assert ok.status_code == 302
    assert Campaign.objects.get().offer_percent_bp == 1500


def test_api_and_admin_stop_a_sending_campaign(api, client, staff, data, django_capture_on_commit_callbacks):
    draft = api.post("/api/v1/crm/campaigns/", {"name": "API", "text": "Hello", "segments": ["at_risk"]},
                     format="json").json()
    assert api.post(f"/api/v1/crm/campaigns/{draft['id']}/stop/").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/v1/crm/campaigns/{draft['id']}/send/").status_code == 200
    stopped = api.post(f"/api/v1/crm/campaigns/{draft['id']}/stop/")
    assert stopped.status_code == 200, stopped.content
    assert stopped.json()["campaign"]["status"] == "cancelled" and stopped.json()["cancelled"] == 1
    answer = api.post(f"/api/v1/crm/campaigns/{draft['id']}/stop/")
    assert answer.status_code == 400 and "Only a scheduled or sending campaign" in str(answer.json())

    client.force_login(staff)
    campaign = Campaign.objects.create(name="Admin one", text="Hello", segments=["at_risk"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/crm/campaign/", {"action": "send", "_selected_action": [campaign.pk], "confirm": "yes"})
    waiting = Notification.objects.filter(pk__in=CampaignRecipient.objects.filter(campaign=campaign)
                                          .values("notification_id"), status="pending")
    assert waiting.count() == 1
    confirm = client.post("/admin/crm/campaign/", {"action": "stop", "_selected_action": [campaign.pk]})
    assert confirm.status_code == 200 and "Stop these campaigns?" in confirm.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == "sent"  # only asked
    done = client.post("/admin/crm/campaign/", {"action": "stop", "_selected_action": [campaign.pk], "confirm": "yes"},
                       follow=True)
    assert f"Campaign #{campaign.pk} stopped: 1 message not yet sent was cancelled." in done.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == "cancelled" and not waiting.exists()


@pytest.mark.parametrize("field, value", [("offer_percent_bp", 10**6), ("offer_valid_hours", 10**9),
                                          ("offer_valid_hours", 0), ("conversion_days", 10**4)])
def test_the_admin_refuses_a_campaign_number_out_of_bounds(client, staff, data, field, value):
    client.force_login(staff)
    form = {"name": "Numbers", "text": "Hi {first_name}", "segments": '["at_risk"]', "condition": "{}",
            "buttons": "[]", "offer_percent_bp": 1500, "offer_valid_hours": 72, "conversion_days": 7}
    page = client.post("/admin/crm/campaign/add/", {**form, field: value})
    assert page.status_code == 200 and field in page.context["adminform"].form.errors
    assert not Campaign.objects.exists()
    assert client.post("/admin/crm/campaign/add/", form).status_code == 302


CAMPAIGN_TEXTS = {
    "fa": {"actions": ("ارسال کمپین‌های انتخاب‌شده…", "لغو کمپین‌های انتخاب‌شده", "توقف ارسال کمپین‌های انتخاب‌شده…"),
           "title": "ارسال کمپین‌ها", "question": "این کمپین‌ها ارسال شوند؟",
           "count": "{fsi}#{id} {fsi}Admin one{pdi}: 1 گیرنده{pdi}", "button": 'value="بله، ارسال شود"',
           "done": "کمپین #{id} در نوبت ارسال قرار گرفت.", "stop": "توقف کمپین‌ها",
           "stopped": "کمپین #{id} متوقف شد: 1 پیام ارسال‌نشده لغو شد.",
           "columns": ("آمار", "تعداد گیرندگان در این لحظه", "پیش‌نمایش (برای یک مشتری نمونه)"),
           "journey": "{fsi}بازدیدکننده{pdi} ← {fsi}در خطر ترک{pdi}"},
    "en": {"actions": ("Send the selected campaigns…", "Cancel the selected campaigns", "Stop sending the selected campaigns…"),
           "title": "Send campaigns", "question": "Send these campaigns?", "count": "#{id} Admin one: 1 recipient",
           "button": 'value="Yes, send"', "done": "Campaign #{id} is scheduled to send.", "stop": "Stop campaigns",
           "stopped": "Campaign #{id} stopped: 1 message not yet sent was cancelled.",
           "columns": ("Stats", "Recipients now", "Preview (for a sample customer)"),
           "journey": "Visitor → At risk"},
}


@pytest.mark.parametrize("language", ["fa", "en"])
def test_admin_campaigns_read_in_the_operators_language(client, staff, data, django_capture_on_commit_callbacks,
                                                        language):
    texts = {k: v.format(fsi=FSI, pdi=PDI, id="{id}") if isinstance(v, str) else v
             for k, v in CAMPAIGN_TEXTS[language].items()}
    client.force_login(staff)
    risky, _fresh = data
    profile = client.get(f"/admin/crm/userprofile/{UserProfile.objects.get(customer=risky).pk}/change/",
                         HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(profile, texts["journey"])  # the arrow points from the earlier stage in either direction
    campaign = Campaign.objects.create(name="Admin one", text="Hello {first_name}", segments=["at_risk"])
    url = "/admin/crm/campaign/"
    assert_shows(client.get(url, HTTP_ACCEPT_LANGUAGE=language), *texts["actions"])
    assert_shows(client.get(f"{url}{campaign.pk}/change/", HTTP_ACCEPT_LANGUAGE=language), *texts["columns"])
    page = client.post(url, {"action": "send", "_selected_action": [campaign.pk]}, HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(page, texts["title"], texts["question"], texts["count"].format(id=campaign.pk))
    assert texts["button"] in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"action": "send", "_selected_action": [campaign.pk], "confirm": "yes"}, follow=True,
                           HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(done, texts["done"].format(id=campaign.pk))
    assert_shows(client.post(url, {"action": "stop", "_selected_action": [campaign.pk]}, HTTP_ACCEPT_LANGUAGE=language),
                 texts["stop"])
    stopped = client.post(url, {"action": "stop", "_selected_action": [campaign.pk], "confirm": "yes"}, follow=True,
                          HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(stopped, texts["stopped"].format(id=campaign.pk))
