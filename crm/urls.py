"""The CRM's staff API routes under /api/v1/crm/ (collected by vpnbot.core), and the
roots the API index lists."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("crm/campaigns", api.CampaignViewSet, basename="crm-campaign")

api_urlpatterns = [
    path("crm/profiles/", api.ProfileList.as_view(), name="crm-profile-list"),
    path("crm/profiles/<int:customer_id>/", api.ProfileDetail.as_view(), name="crm-profile-detail"),
    path("crm/customers/<int:customer_id>/activities/", api.ActivityList.as_view(), name="crm-activity-list"),
    path("crm/segments/", api.SegmentList.as_view(), name="crm-segment-list"),
    path("crm/recompute/", api.RecomputeView.as_view(), name="crm-recompute"),
    *router.urls,
]
api_roots = {"crm-profiles": "crm-profile-list", "crm-segments": "crm-segment-list",
             "crm-campaigns": "crm-campaign-list"}
