"""/app/api/: the Mini App's JSON API, authenticated by `Authorization: tma <initData>`."""

from django.urls import path

from . import api

urlpatterns = [
    path("me", api.MeView.as_view(), name="miniapp-me"),
    path("wallet", api.WalletView.as_view(), name="miniapp-wallet"),
    path("referrals", api.ReferralsView.as_view(), name="miniapp-referrals"),
    path("settings", api.SettingsView.as_view(), name="miniapp-settings"),
]
