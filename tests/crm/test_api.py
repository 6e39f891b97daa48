"""The CRM's staff API: staff only, profiles and their filters, segments, activities, campaigns
(CRUD on drafts, send, stop, stats) and the recompute endpoint."""


import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from crm import tasks
from crm.models import Campaign, CampaignRecipient, RecomputeRun, UserProfile
from vpnbot.core import bounds

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


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


@pytest.mark.parametrize("query", ["min_churn_risk=²", "min_churn_risk=१२", "rfm=²²²", "rfm=५५५", "min_churn_risk=" + "9" * 30])
def test_profile_filters_with_odd_digits_answer_400(api, data, query):
    assert api.get(f"/api/v1/crm/profiles/?{query}").status_code == 400


def test_recompute_endpoint_queues_a_recompute(api, client, data, django_capture_on_commit_callbacks, monkeypatch):
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
    settings.CELERY_TASK_ALWAYS_EAGER = True
    risky, fresh = data
    runs = RecomputeRun.objects.count()
    UserProfile.objects.filter(customer=risky).update(segment="new")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/crm/recompute/").status_code == 202
    assert RecomputeRun.objects.count() == runs + 1
    assert UserProfile.objects.get(customer=risky).segment == "at_risk"


CAMPAIGN_OUT_OF_BOUNDS = [("offer_percent_bp", -1), ("offer_percent_bp", 10_001), ("offer_percent_bp", 10**30),
                          ("offer_valid_hours", 0), ("offer_valid_hours", bounds.MAX_OFFER_HOURS + 1),
                          ("offer_valid_hours", 10**9), ("conversion_days", 0),
                          ("conversion_days", bounds.MAX_CONVERSION_DAYS + 1), ("conversion_days", 10**6)]


@pytest.mark.parametrize("field, value", CAMPAIGN_OUT_OF_BOUNDS)
def test_a_campaign_number_out_of_bounds_is_a_400_naming_it_and_changes_nothing(api, data, field, value):
    body = {"name": "Back", "text": "Hi {first_name}", "segments": ["at_risk"], "offer_percent_bp": 1000}
    response = api.post("/api/v1/crm/campaigns/", {**body, field: value}, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Campaign.objects.exists()
    pk = api.post("/api/v1/crm/campaigns/", body, format="json").json()["id"]
    response = api.patch(f"/api/v1/crm/campaigns/{pk}/", {field: value}, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    campaign = Campaign.objects.get(pk=pk)
    assert (campaign.offer_percent_bp, campaign.offer_valid_hours, campaign.conversion_days) == (1000, 72, 7)


def test_a_campaign_stored_out_of_bounds_is_not_sent(api, data, django_capture_on_commit_callbacks):
    pk = api.post("/api/v1/crm/campaigns/", {"name": "Back", "text": "Hi {first_name}", "segments": ["at_risk"],
                                             "offer_percent_bp": 1000}, format="json").json()["id"]
    Campaign.objects.filter(pk=pk).update(offer_valid_hours=10**9)  # written around the bounds
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/crm/campaigns/{pk}/send/", {}, format="json")
    assert response.status_code == 400 and "offer_valid_hours" in str(response.json())
    assert Campaign.objects.get(pk=pk).status == "draft" and not CampaignRecipient.objects.exists()


@pytest.mark.parametrize("risk", ["101", "-1", str(10**30)])
def test_profile_filter_churn_risk_out_of_bounds_is_a_400(api, data, risk):
    response = api.get("/api/v1/crm/profiles/", {"min_churn_risk": risk})
    assert response.status_code == 400 and "min_churn_risk" in response.json()


def test_a_customer_id_no_database_holds_is_no_customer_not_a_500(api, data):
    api.raise_request_exception = False
    big = "9" * 30
    assert api.get(f"/api/v1/crm/profiles/{big}/").status_code == 404
    response = api.get(f"/api/v1/crm/customers/{big}/activities/")
    assert response.status_code == 200 and response.json()["count"] == 0
