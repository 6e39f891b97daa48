"""The project's URLs: the webhook, the admin, the staff API and its documentation, health."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from vpnbot.core.health import healthz
from vpnbot.transport import views as transport_views

urlpatterns = [
    path("telegram/webhook/", transport_views.webhook, name="telegram-webhook"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("vpnbot.core.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
