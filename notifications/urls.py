"""The notifications app's staff API routes (collected under /api/v1/ by the core): the outbox,
broadcasts and delivery statistics."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("notifications", api.NotificationViewSet, basename="notification")
router.register("broadcasts", api.BroadcastViewSet, basename="broadcast")

api_urlpatterns = [path("notification-stats/", api.StatsView.as_view(), name="notification-stats"), *router.urls]
api_roots = {"notifications": "notification-list", "broadcasts": "broadcast-list", "notification-stats": "notification-stats"}
