from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from vpnbot.transport import views as telegram_views

urlpatterns = [
    path("telegram/webhook/", telegram_views.webhook, name="telegram-webhook"),
    path("healthz", telegram_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("vpnbot.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
