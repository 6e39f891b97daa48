"""The customer's account in the Mini App: who they are (/me), the wallet, the referral link,
and the settings the bot changes with /language and /notification_settings."""

from __future__ import annotations

import re
from datetime import time as dtime

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from notifications import services as notifications
from notifications import types as notification_types
from vpnbot.core import bounds
from vpnbot.shop import selectors, services
from vpnbot.shop.formatting import format_date, money

from .base import TAG, MiniAppView, WholeNumber, amounts

OBJECT = {200: OpenApiTypes.OBJECT}
BOT_USERNAME = re.compile(r"^[A-Za-z0-9_]{4,32}$")
WALLET_HISTORY = 20


def _languages() -> list[dict]:
    return [{"code": code, "name": name} for code, name in settings.LANGUAGES]


class MeView(MiniAppView):
    @extend_schema(tags=[TAG], summary="The customer, their language and wallet balance", responses=OBJECT)
    def get(self, request):
        c = self.customer
        language = c.effective_language
        return Response({
            "customer": {"id": c.pk, "telegram_id": c.telegram_id, "first_name": c.first_name, "last_name": c.last_name,
                         "username": c.username},
            "language": language, "rtl": get_language_info(language)["bidi"], "languages": _languages(),
            "currency": settings.CURRENCY, **amounts("balance", c.balance_amount)})


class WalletView(MiniAppView):
    @extend_schema(tags=[TAG], summary="Balance, the latest transactions and the top-up limits", responses=OBJECT)
    def get(self, request):
        c = self.customer
        low, high = services.topup_limits()
        rows = [{"id": tx.pk, "amount": tx.amount, "amount_display": ("+" if tx.amount > 0 else "") + money(tx.amount),
                 "reason": tx.reason, "reason_display": tx.get_reason_display(),
                 **amounts("balance_after", tx.balance_after), "created_at": tx.created_at.isoformat(),
                 "created_display": format_date(tx.created_at, c)}
                for tx in selectors.wallet_history(customer=c, limit=WALLET_HISTORY)]
        return Response({**amounts("balance", c.balance_amount), "transactions": rows,
                         **amounts("topup_min", low), **amounts("topup_max", high)})


class ReferralsView(MiniAppView):
    @extend_schema(tags=[TAG], summary="The customer's invitation link and what it earned", responses=OBJECT)
    def get(self, request):
        c = self.customer
        username = settings.TELEGRAM_BOT_USERNAME
        link = (f"https://t.me/{username}?start=ref_{c.referral_code}"
                if BOT_USERNAME.match(username or "") and c.referral_code else "")
        summary = selectors.referral_summary(c)
        return Response({"link": link, "code": c.referral_code, "reward_percent": settings.REFERRAL_REWARD_PERCENT,
                         "joined": summary.joined, "rewarded": summary.rewarded,
                         **amounts("earned", summary.earned_amount)})


# --- settings -------------------------------------------------------------------------------------------------

@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "22:30"})
class ClockTime(serializers.Field):
    """"HH:MM" (24 hours) as a time."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(r"(?:[01]\d|2[0-3]):[0-5]\d", data):
            raise serializers.ValidationError(_("Give the time as HH:MM, for example 22:30."))
        return dtime.fromisoformat(data)

    def to_representation(self, value):
        return f"{value:%H:%M}"


class QuietHoursIn(serializers.Serializer):
    start = ClockTime()
    end = ClockTime()

    def validate(self, attrs):
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError(_("Quiet hours need a start and an end that differ (null turns them off)."))
        return attrs


class NotificationsIn(serializers.Serializer):
    types = serializers.DictField(child=serializers.BooleanField(), required=False,
                                  help_text="{type: on?} for the types listed by GET")
    quiet_hours = QuietHoursIn(required=False, allow_null=True, help_text='{"start": "HH:MM", "end": "HH:MM"}, or null: off')
    daily_limit = WholeNumber(required=False, min_value=0, max_value=bounds.MAX_DAILY_MESSAGES,
                              help_text="Messages a day at most, 0 = no limit")

    def validate_types(self, value):
        for type_ in value:
            if type_ not in notification_types.OPTIONAL:
                raise serializers.ValidationError(
                    _("This kind of notification cannot be turned off.") if type_ in notification_types.ALL
                    else _("Unknown kind of notification: %(type)s.") % {"type": type_[:40]})
        return value


class SettingsIn(serializers.Serializer):
    language = serializers.ChoiceField(choices=[code for code, _name in settings.LANGUAGES], required=False)
    notifications = NotificationsIn(required=False)


def settings_dict(customer) -> dict:
    row = notifications.settings_get(customer=customer)
    prefs = notifications.preferences_for(row)
    return {
        "language": customer.effective_language, "languages": _languages(),
        "notifications": {
            "types": [{"type": t, "label": str(notification_types.LABELS[t]), "enabled": t not in prefs.disabled}
                      for t in notification_types.OPTIONAL],
            "quiet_hours": ({"start": f"{prefs.quiet[0]:%H:%M}", "end": f"{prefs.quiet[1]:%H:%M}"}
                            if prefs.quiet else None),
            "daily_limit": prefs.daily_limit, "daily_limit_choices": list(notifications.LIMIT_PRESETS),
            "always_sent": _("Payment decisions and configs are always sent.")}}


class SettingsView(MiniAppView):
    @extend_schema(tags=[TAG], summary="Language and notification preferences", responses=OBJECT)
    def get(self, request):
        return Response(settings_dict(self.customer))

    @extend_schema(tags=[TAG], summary="Change any of them (all or nothing); answers as GET", request=SettingsIn,
                   responses=OBJECT)
    def put(self, request):
        data = self.input(SettingsIn)
        customer = self.customer
        wanted = data.get("notifications") or {}
        with transaction.atomic():  # a refusal by any service leaves everything as it was
            if "language" in data:
                services.customer_set_language(customer=customer, language=data["language"])
            if wanted.get("types"):
                notifications.settings_set_types(customer=customer, enabled=wanted["types"])
            if "quiet_hours" in wanted:
                window = wanted["quiet_hours"]
                notifications.settings_set_quiet_hours(customer=customer, start=window["start"] if window else None,
                                                       end=window["end"] if window else None)
            if "daily_limit" in wanted:
                notifications.settings_set_daily_limit(customer=customer, limit=wanted["daily_limit"])
        translation.activate(customer.effective_language)
        return Response(settings_dict(customer))
