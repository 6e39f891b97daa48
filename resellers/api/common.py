"""What both resellers' APIs share: the services' refusals as HTTP answers, a CSV download,
the idempotency key of a purchase or a renewal."""

from __future__ import annotations

import re

from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from vpnbot.shop.services import InsufficientBalance, QuoteChanged, ShopError

from .. import selectors, services

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY = 60  # the services keep it with a prefix in 80 characters
_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_KEY}}}$")


class ResellerErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ResellerShortSerializer(ResellerErrorSerializer):
    missing_amount = serializers.IntegerField(help_text="How much more the wallet (with the credit limit) needs")


class ResellerQuoteChangedSerializer(ResellerErrorSerializer):
    total_amount = serializers.IntegerField(help_text="The new total: send it as expected_total to accept it")


def refused(exc: ShopError, *, reseller_id: int | None = None, quantity: int = 1) -> Response:
    """A service's refusal: NotFound 404; a short wallet 402 with what is missing; a changed
    price 409 with the new total; a frozen or demoted reseller (buying, renewing) 403; anything
    else 400 with the service's message."""
    body = {"detail": str(exc)}
    if isinstance(exc, services.NotFound):
        return Response(body, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, InsufficientBalance):
        return Response({**body, "missing_amount": exc.missing}, status=status.HTTP_402_PAYMENT_REQUIRED)
    if isinstance(exc, QuoteChanged):
        return Response({**body, "total_amount": exc.quote.total_amount * quantity}, status=status.HTTP_409_CONFLICT)
    if reseller_id is not None:
        reseller = selectors.reseller_get(reseller_id)
        if reseller is None or not reseller.is_active or reseller.is_frozen:
            return Response(body, status=status.HTTP_403_FORBIDDEN)
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def csv_download(name: str, content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def idempotency_key(request, data: dict) -> str:
    """The key from the Idempotency-Key header, else the body's idempotency_key; a 400 without
    one (a purchase or a renewal is never made twice by a retried request)."""
    key = (request.headers.get(IDEMPOTENCY_HEADER) or data.get("idempotency_key") or "").strip()
    if not key:
        raise ValidationError({"idempotency_key": [
            _("Send an idempotency key (the Idempotency-Key header or an idempotency_key field).")]})
    if not _KEY.match(key):
        raise ValidationError({"idempotency_key": [
            _("An idempotency key is 1 to %(max)s printable characters without spaces.") % {"max": MAX_KEY}]})
    return key
