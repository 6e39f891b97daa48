"""The anti-fraud's staff API routes under /api/v1/ (collected by vpnbot.core.api_urls): the
risk cases, and ban/unban beside the shop's customers."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("risk/cases", api.RiskCaseViewSet, basename="risk-case")

api_urlpatterns = [
    *router.urls,
    path("customers/<int:pk>/ban/", api.CustomerBanView.as_view(), name="customer-ban"),
    path("customers/<int:pk>/unban/", api.CustomerUnbanView.as_view(), name="customer-unban"),
]
api_roots = {"risk-cases": "risk-case-list"}
