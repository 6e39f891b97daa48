"""NowPayments (crypto) -- to be written: invoice, IPN verified by HMAC-SHA512, status ladder."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from .base import Provider


class NowPayments(Provider):
    key = "nowpayments"
    currency = "USD"

    def enabled(self) -> bool:
        return bool(settings.NOWPAYMENTS_API_KEY and settings.NOWPAYMENTS_IPN_SECRET and settings.NOWPAYMENTS_RATE > 0)

    def label(self) -> str:
        return _("🪙 Crypto (NowPayments)")
