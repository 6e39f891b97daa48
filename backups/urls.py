"""The backups' staff API routes under /api/v1/ (collected by vpnbot.core.api_urls)."""

from django.urls import path

from . import api

api_urlpatterns = [
    path("backups/", api.BackupListCreate.as_view(), name="api-backups"),
    path("backups/status/", api.BackupStatus.as_view(), name="api-backups-status"),
    path("backups/<int:pk>/verify/", api.BackupVerify.as_view(), name="api-backups-verify"),
]
api_roots = {"backups": "api-backups"}
