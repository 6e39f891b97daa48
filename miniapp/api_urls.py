"""/app/api/: the Mini App's JSON API, authenticated by `Authorization: tma <initData>`."""

from django.urls import path, re_path

from . import api

ID = r"(?P<%s>\d{1,12})"  # ids as the bot's buttons carry them: never a number the database cannot hold

urlpatterns = [
    path("me", api.MeView.as_view(), name="miniapp-me"),
    path("plans", api.PlansView.as_view(), name="miniapp-plans"),
    path("quote", api.QuoteView.as_view(), name="miniapp-quote"),
    path("orders", api.OrdersView.as_view(), name="miniapp-orders"),
    path("orders/pay", api.PayOrderView.as_view(), name="miniapp-orders-pay"),
    path("methods", api.MethodsView.as_view(), name="miniapp-methods"),
    path("topups", api.TopupsView.as_view(), name="miniapp-topups"),
    re_path(r"^payments/%s$" % (ID % "payment_id"), api.PaymentView.as_view(), name="miniapp-payment"),
    path("subscriptions", api.SubscriptionsView.as_view(), name="miniapp-subscriptions"),
    re_path(r"^subscriptions/%s/link$" % (ID % "subscription_id"), api.NewLinkView.as_view(), name="miniapp-new-link"),
    path("traffic-packs", api.TrafficPacksView.as_view(), name="miniapp-traffic-packs"),
    path("traffic", api.TrafficView.as_view(), name="miniapp-traffic"),
    path("wallet", api.WalletView.as_view(), name="miniapp-wallet"),
    path("referrals", api.ReferralsView.as_view(), name="miniapp-referrals"),
    path("settings", api.SettingsView.as_view(), name="miniapp-settings"),
]
