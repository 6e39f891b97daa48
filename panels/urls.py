"""The panels' staff API routes under /api/v1/ (collected by vpnbot.core.api_urls): panels
(with test and sync) and the accounts on them (with repair and retry)."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("panels", api.PanelViewSet, basename="panel")
router.register("panel-accounts", api.PanelAccountViewSet, basename="panel-account")

api_urlpatterns = [*router.urls]
api_roots = {"panels": "panel-list", "panel-accounts": "panel-account-list"}
