"""The notifications app's staff API routes (collected under /api/v1/ by the core): the outbox,
broadcasts, delivery statistics and scheduled messages."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("notifications", api.NotificationViewSet, basename="notification")
router.register("broadcasts", api.BroadcastViewSet, basename="broadcast")
router.register("scheduled-messages", api.ScheduledMessageViewSet, basename="scheduled-message")

api_urlpatterns = [path("notification-stats/", api.StatsView.as_view(), name="notification-stats"), *router.urls]
api_roots = {"notifications": "notification-list", "broadcasts": "broadcast-list", "notification-stats": "notification-stats",
             "scheduled-messages": "scheduled-message-list"}
