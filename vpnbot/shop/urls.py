"""The shop's staff API routes under /api/v1/ (customers, plans, orders, top-ups (the card receipts),
subscriptions, traffic packs), collected by vpnbot.core into the project's URLs. Every provider's
payments, the receipts included, are listed by the payments app at /api/v1/payments/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("customers", api.CustomerViewSet, basename="customer")
router.register("plans", api.PlanViewSet, basename="plan")
router.register("orders", api.OrderViewSet, basename="order")
router.register("topups", api.PaymentViewSet, basename="topup")
router.register("subscriptions", api.SubscriptionViewSet, basename="subscription")
router.register("traffic-packs", api.TrafficPackViewSet, basename="traffic-pack")

api_urlpatterns = router.urls
api_roots = {name: f"{name[:-1]}-list"
             for name in ("customers", "plans", "orders", "topups", "subscriptions", "traffic-packs")}
