"""The providers' callbacks: /payments/<provider>/... (included by vpnbot/urls.py)."""

from django.urls import path

from .views import nowpayments, zarinpal

urlpatterns = [
    path("zarinpal/callback/", zarinpal.callback, name="payments-zarinpal-callback"),
    path("nowpayments/ipn/", nowpayments.ipn, name="payments-nowpayments-ipn"),
]
