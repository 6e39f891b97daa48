"""The discounts' staff API routes, collected under /api/v1/ by core: discounts and cashback
rules (CRUD), a price quote with its breakdown, and the statistics."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("discounts/cashback-rules", api.CashbackRuleViewSet, basename="cashbackrule")
router.register("discounts", api.SmartDiscountViewSet, basename="smartdiscount")

api_urlpatterns = [
    path("discounts/quote/", api.QuoteView.as_view(), name="discount-quote"),
    path("discounts/stats/", api.StatsView.as_view(), name="discount-stats"),
] + router.urls
api_roots = {"discounts": "smartdiscount-list", "cashback-rules": "cashbackrule-list", "discount-quote": "discount-quote",
             "discount-stats": "discount-stats"}
