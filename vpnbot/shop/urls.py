"""The shop's staff API routes under /api/v1/ (customers, plans, orders, payments, subscriptions, traffic packs),
collected by vpnbot.core into the project's URLs."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("customers", api.CustomerViewSet, basename="customer")
router.register("plans", api.PlanViewSet, basename="plan")
router.register("orders", api.OrderViewSet, basename="order")
router.register("payments", api.PaymentViewSet, basename="payment")
router.register("subscriptions", api.SubscriptionViewSet, basename="subscription")
router.register("traffic-packs", api.TrafficPackViewSet, basename="traffic-pack")

api_urlpatterns = router.urls
api_roots = {name: f"{name[:-1]}-list"
             for name in ("customers", "plans", "orders", "payments", "subscriptions", "traffic-packs")}
