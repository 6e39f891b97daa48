"""The payments' staff API routes under /api/v1/ (collected by vpnbot.core.api_urls): every
provider's payments, with check, credit, refuse and refund. (The providers' callbacks are in
callback_urls.py, under /payments/.)"""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("payments", api.PaymentViewSet, basename="payment")

api_urlpatterns = [*router.urls]
api_roots = {"payments": "payment-list"}
