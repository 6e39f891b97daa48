"""What every Mini App API view shares: initData authentication (and nothing else), the
customer's language, errors as {"detail": "..."}, the switch MINIAPP_ENABLED, and the small
input fields the views validate with."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import Http404
from django.utils import translation
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView, exception_handler, set_rollback

from notifications.services import NotificationError
from notifications.services.outbox import delivery_by_worker
from vpnbot.core.throttling import AnonymousFirst
from vpnbot.shop.formatting import money
from vpnbot.shop.paymethods import MethodUnavailable
from vpnbot.shop.services import ShopError

from ..auth import CustomerThrottle, IsMiniAppCustomer, TmaAuthentication

TAG = "miniapp"
IDEMPOTENCY_KEY = r"^[A-Za-z0-9_.:-]{8,80}$"
CODE = r"^[A-Za-z0-9_-]{0,32}$"  # a discount code, as the bot and the staff API take it


class TmaScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme of the Mini App's views (not the staff's token)."""

    target_class = "miniapp.auth.TmaAuthentication"
    name = "tma"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`tma <initData>`: the raw Telegram.WebApp.initData of the Mini App"}


def amounts(prefix: str, value: int) -> dict:
    """An amount as the API gives it: the integer (`<prefix>_amount`, or `amount`) and how the
    customer reads it (`<prefix>_display`)."""
    return {prefix if prefix == "amount" else f"{prefix}_amount": value, f"{prefix}_display": money(value)}


def customer_key(customer, key: str) -> str:
    """The shop's idempotency key of a key the Mini App sent: the customer's own (nobody
    reaches another customer's purchase by sending its key), short enough for any column."""
    return f"ma:{customer.pk}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def _first_message(detail, path: str = "") -> tuple[str, str]:
    """(field as a dotted path, message) of the first error of a serializer's errors."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = path if field in ("non_field_errors", api_settings.NON_FIELD_ERRORS_KEY) else (
                f"{path}.{field}" if path else str(field))
            return _first_message(value, inner)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], path)
    return path, str(detail)


def handle_exception(exc, context):
    """Every error as {"detail": "..."} (bad input: plus "field", the dotted path of the first
    wrong field, "" for the request as a whole); the shop's refusals are 400."""
    if isinstance(exc, (ShopError, NotificationError, MethodUnavailable)):
        set_rollback()
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_message(exc.detail)
        set_rollback()
        return Response({"detail": message, "field": field}, status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is not None and not (isinstance(response.data, dict) and "detail" in response.data):
        response.data = {"detail": str(response.data)}
    return response


class MiniAppView(APIView):
    """A view of the Mini App's API: the customer of a valid initData only."""

    authentication_classes = [TmaAuthentication]
    permission_classes = [AnonymousFirst, IsMiniAppCustomer]
    throttle_classes = [CustomerThrottle]

    def get_exception_handler(self):
        return handle_exception

    def dispatch(self, request, *args, **kwargs):
        # the customer's language for this request only; messages (a purchase's receipt in the
        # chat) sent by the worker, not while the customer waits for the answer
        with translation.override(translation.get_language()), delivery_by_worker():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        if not settings.MINIAPP_ENABLED:
            raise Http404
        super().initial(request, *args, **kwargs)
        self.customer = request.user.customer
        translation.activate(self.customer.effective_language)

    def input(self, serializer_class, data=None) -> dict:
        serializer = serializer_class(data=request_data(self.request) if data is None else data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def request_data(request):
    data = request.data
    if not isinstance(data, dict):  # a JSON list or string is no request of ours
        raise exceptions.ValidationError(translation.gettext("Send a JSON object."))
    return data


# --- input fields ---------------------------------------------------------------------------------------

class WholeNumber(serializers.IntegerField):
    """A whole number as JSON sends it, or its digits as text; never a bool or 1.5 (nor 2.0)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or isinstance(data, float):
            self.fail("invalid")
        if isinstance(data, str) and not (data.isascii() and data.strip().isdigit() and len(data.strip()) <= 15):
            self.fail("invalid")
        return super().to_internal_value(data)


class Id(WholeNumber):
    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=2**53, **kwargs)
