"""/app/: the Mini App's pages and, under /app/api/, its JSON API (included by vpnbot/urls.py).
Nothing here is part of the staff API (/api/v1/)."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("miniapp.api_urls")),
    path("", include("miniapp.page_urls")),
]
