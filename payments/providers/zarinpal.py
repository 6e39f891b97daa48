"""Zarinpal (REST v4) -- to be written: payment request, StartPay link, callback, verify."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from .base import Provider


class Zarinpal(Provider):
    key = "zarinpal"
    currency = "IRR"

    def enabled(self) -> bool:
        return bool(settings.ZARINPAL_MERCHANT_ID)

    def label(self) -> str:
        return _("💳 Zarinpal (Iranian cards)")
