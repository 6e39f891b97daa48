from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import Campaign, CampaignRecipient, UserActivity
from crm.services import activity_record, profiles_recompute
from tests.crm.factories import CustomerFactory, PlanFactory, buy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def crm_on(settings):
    settings.LANGUAGE_CODE = "en"
    settings.ENABLE_CRM = True
    settings.CRM_AUTO_OFFERS = False


@pytest.fixture
def staff():
    return User.objects.create_user("op", password="pw", is_staff=True, is_superuser=True)


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def data():
    plan = PlanFactory(duration_days=30)
    risky = CustomerFactory(joined_at=timezone.now() - timedelta(days=60), username="risky")
    buy(risky, plan, at=timezone.now() - timedelta(days=27))
    fresh = CustomerFactory(joined_at=timezone.now() - timedelta(days=1), username="fresh")
    activity_record(customer=risky, kind="command", ref="/plans")
    profiles_recompute()
    return risky, fresh


def test_api_needs_staff(client, data):
    assert client.get("/api/v1/crm/profiles/").status_code in (401, 403)
    user = User.objects.create_user("plain", password="pw")
    api = APIClient()
    api.force_authenticate(user)
    assert api.get("/api/v1/crm/segments/").status_code == 403


def test_profiles_segments_and_activities(api, data):
    risky, fresh = data
    body = api.get("/api/v1/crm/profiles/?segment=at_risk").json()
    assert [p["username"] for p in body["results"]] == ["risky"]
    assert api.get("/api/v1/crm/profiles/?segment=nope").status_code == 400
    assert api.get("/api/v1/crm/profiles/?min_churn_risk=x").status_code == 400
    assert api.get(f"/api/v1/crm/profiles/{fresh.pk}/").json()["segment"] == "new"
    segments = {s["key"]: s["count"] for s in api.get("/api/v1/crm/segments/").json()}
    assert segments["at_risk"] == 1 and segments["new"] == 1 and segments["vip"] == 0
    activities = api.get(f"/api/v1/crm/customers/{risky.pk}/activities/").json()["results"]
    assert [a["ref"] for a in activities] == ["/plans"]


def test_campaign_crud_send_and_stats(api, data, django_capture_on_commit_callbacks):
    bad = api.post("/api/v1/crm/campaigns/", {"name": "x", "text": "Hi {who}"}, format="json")
    assert bad.status_code == 400 and "text" in bad.json()
    created = api.post("/api/v1/crm/campaigns/", {"name": "Back", "text": "Hi {first_name}",
                                                  "segments": ["at_risk"]}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert api.patch(f"/api/v1/crm/campaigns/{pk}/", {"name": "Back!"}, format="json").json()["name"] == "Back!"
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/v1/crm/campaigns/{pk}/send/", {}, format="json")
    assert sent.status_code == 200
    assert CampaignRecipient.objects.filter(campaign_id=pk).count() == 1
    assert api.post(f"/api/v1/crm/campaigns/{pk}/send/", {}, format="json").status_code == 400
    assert api.delete(f"/api/v1/crm/campaigns/{pk}/").status_code == 400
    stats = api.get(f"/api/v1/crm/campaigns/{pk}/stats/").json()
    assert stats["targeted"] == 1


def test_admin_pages_and_send_confirmation(client, staff, data, django_capture_on_commit_callbacks):
    risky, _fresh = data
    client.force_login(staff)
    from crm.models import UserProfile

    profile = UserProfile.objects.get(customer=risky)
    page = client.get(f"/admin/crm/userprofile/{profile.pk}/change/")
    assert page.status_code == 200 and "/plans" in page.content.decode()
    assert client.get("/admin/crm/userprofile/?segment__exact=at_risk").status_code == 200
    for model in ("useractivity", "customerjourney", "userinsight", "personalizedoffer", "recomputerun", "campaign"):
        assert client.get(f"/admin/crm/{model}/").status_code == 200
    campaign = Campaign.objects.create(name="Admin one", text="Hello {first_name}", segments=["at_risk"])
    assert "Hello" in client.get(f"/admin/crm/campaign/{campaign.pk}/change/").content.decode()
    confirm = client.post("/admin/crm/campaign/", {"action": "send", "_selected_action": [campaign.pk]})
    assert confirm.status_code == 200 and "1 recipients" in confirm.content.decode()
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


def test_only_drafts_change_and_bad_values_change_nothing(api, data):
    pk = api.post("/api/v1/crm/campaigns/", {"name": "Back", "text": "Hi {first_name}", "segments": ["at_risk"]},
                  format="json").json()["id"]
    bad = api.patch(f"/api/v1/crm/campaigns/{pk}/", {"offer_percent_bp": 20000}, format="json")
    assert bad.status_code == 400
    assert "between 0 and 100" in str(bad.json())
    assert Campaign.objects.get(pk=pk).offer_percent_bp == 0
    Campaign.objects.filter(pk=pk).update(status="scheduled")
    refused = api.patch(f"/api/v1/crm/campaigns/{pk}/", {"name": "Changed"}, format="json")
    assert refused.status_code == 400
    assert "Only a draft can be changed" in str(refused.json())
    campaign = Campaign.objects.get(pk=pk)
    assert (campaign.name, campaign.status) == ("Back", "scheduled")


def test_an_admin_edit_never_overwrites_a_campaign_that_started_meanwhile(rf, staff, data):
    from django.contrib.admin.sites import site
    from django.contrib.messages.storage.fallback import FallbackStorage

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
    from django.contrib.auth.models import Permission

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


@pytest.mark.parametrize("query", ["min_churn_risk=²", "min_churn_risk=१२", "rfm=²²²", "rfm=५५५", "min_churn_risk=" + "9" * 30])
def test_profile_filters_with_odd_digits_answer_400(api, data, query):
    assert api.get(f"/api/v1/crm/profiles/?{query}").status_code == 400


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


def test_recompute_endpoint_queues_a_recompute(api, client, data, django_capture_on_commit_callbacks, monkeypatch):
    from crm import tasks

    queued = []
    monkeypatch.setattr(tasks.recompute_profiles, "delay", lambda *a, **k: queued.append((a, k)))
    assert APIClient().post("/api/v1/crm/recompute/").status_code in (401, 403)
    assert not queued
    assert api.get("/api/v1/crm/recompute/").status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/crm/recompute/")
    assert response.status_code == 202 and response.json() == {"queued": True}
    assert queued == [((), {})]


def test_recompute_endpoint_runs_the_recompute(api, data, django_capture_on_commit_callbacks, settings):
    from crm.models import RecomputeRun, UserProfile

    settings.CELERY_TASK_ALWAYS_EAGER = True
    risky, fresh = data
    runs = RecomputeRun.objects.count()
    UserProfile.objects.filter(customer=risky).update(segment="new")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/crm/recompute/").status_code == 202
    assert RecomputeRun.objects.count() == runs + 1
    assert UserProfile.objects.get(customer=risky).segment == "at_risk"


def test_api_and_admin_stop_a_sending_campaign(api, client, staff, data, django_capture_on_commit_callbacks):
    from notifications.models import Notification

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
    assert f"Campaign #{campaign.pk} stopped: 1 message(s)" in done.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == "cancelled" and not waiting.exists()
