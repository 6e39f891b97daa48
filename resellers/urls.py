"""The resellers' API routes under /api/v1/ (collected by vpnbot.core.api_urls): the staff's
resellers/ and the resellers' own reseller/ (their key, not a staff token)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import reseller, staff

router = SimpleRouter()
router.register("resellers", staff.ResellerViewSet, basename="reseller")
router.register("reseller/accounts", reseller.AccountViewSet, basename="reseller-account")
router.register("reseller/batches", reseller.BatchViewSet, basename="reseller-batch")

api_urlpatterns = [path("reseller/me/", reseller.MeView.as_view(), name="reseller-me"), *router.urls]
api_roots = {"resellers": "reseller-list"}
