"""The project's URLs: the webhook, the admin, the staff API and its documentation, the payment
providers' callbacks, health."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from vpnbot.core.health import healthz
from vpnbot.transport import views as transport_views

# The documentation page sends a visitor who is not staff to the admin's login (the schema
# itself answers 401/403 to them, by SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]).
api_docs = SpectacularSwaggerView.as_view(url_name="schema")
if not settings.API_DOCS_PUBLIC:
    api_docs = staff_member_required(api_docs)

urlpatterns = [
    path("telegram/webhook/", transport_views.webhook, name="telegram-webhook"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("vpnbot.core.api_urls")),
    path("payments/", include("payments.callback_urls")),
    path("app/", include("miniapp.urls")),
    path("dev/", include("devchat.urls")),  # the local chat page and its Bot API stand-in: 404 unless LOCAL_CHAT
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
]
