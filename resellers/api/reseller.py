"""The reseller API (/api/v1/reseller/…): a reseller, with their own API key
(`Authorization: Token rsk_…`), reads their wallet and prices, buys accounts (one or many, all or
none, once per idempotency key), renews them, switches them off and on, reads their usage and
downloads a purchase's configs. Another reseller's account or purchase is not found (404).
Staff tokens are refused here (401); when the shop does not work with resellers
(ENABLE_RESELLERS off) every endpoint answers 404."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from vpnbot.core import bounds
from vpnbot.core.throttling import AnonymousFirst
from vpnbot.shop.services import QUANTITIES, ShopError

from .. import selectors, services
from ..auth import IsReseller, ResellerThrottle, ResellerTokenAuthentication
from ..models import Account, Batch
from .common import (
    IDEMPOTENCY_HEADER,
    MAX_KEY,
    ResellerErrorSerializer,
    ResellerQuoteChangedSerializer,
    ResellerShortSerializer,
    csv_download,
    idempotency_key,
    refused,
)

TAG = "Reseller API"
KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, required=False,
    description="Makes the request once: the same key again answers with the first result (or send "
                "idempotency_key in the body; one of the two is required)")
ERRORS = {400: ResellerErrorSerializer, 402: ResellerShortSerializer, 403: ResellerErrorSerializer, 404: ResellerErrorSerializer,
          409: ResellerQuoteChangedSerializer}


# --- serializers ------------------------------------------------------------------------------------

def _periods(value: int) -> None:
    if value not in QUANTITIES:
        raise serializers.ValidationError(_("Choose 1, 3, 6 or 12 periods."))


class ResellerPriceRowSerializer(serializers.Serializer):
    plan = serializers.IntegerField(source="plan.pk", help_text="The plan's id (what POST accounts/ takes)")
    name = serializers.CharField(source="plan.name")
    duration_days = serializers.IntegerField(source="plan.duration_days", help_text="Days in one period")
    traffic_gb = serializers.IntegerField(source="plan.traffic_gb", help_text="Traffic per period (0 = unlimited)")
    list_amount = serializers.IntegerField(help_text="The shop's list price of one period")
    price_amount = serializers.IntegerField(help_text="Your price of one period, as charged now")


class ResellerMeSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Your reseller id")
    balance_amount = serializers.IntegerField(help_text="Your wallet (below zero: what you owe)")
    credit_limit_amount = serializers.IntegerField(help_text="How far below zero your wallet may go")
    credit_used_amount = serializers.IntegerField(help_text="What you owe now")
    available_amount = serializers.IntegerField(help_text="What you can spend now (wallet plus unused credit)")
    is_frozen = serializers.BooleanField(help_text="Frozen: no purchases or renewals until the shop lifts it")
    currency = serializers.CharField()
    daily_account_limit = serializers.IntegerField(help_text="New accounts a day at most (0 = no limit)")
    accounts_today = serializers.IntegerField(help_text="New accounts made today (the shop's day)")
    prices = ResellerPriceRowSerializer(many=True, help_text="One row per plan you may sell")


class ResellerAccountSerializer(serializers.Serializer):
    """One account with its usage (services.Usage)."""

    id = serializers.IntegerField(source="account.pk")
    label = serializers.CharField(source="account.label")
    plan = serializers.IntegerField(source="account.subscription.plan_id")
    plan_name = serializers.CharField(source="account.subscription.plan.name")
    batch = serializers.IntegerField(source="account.batch_id", help_text="The purchase it was bought in")
    status = serializers.CharField(help_text="active, disabled, expired, refunded, pending or failed")
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField(source="account.created_at")
    disabled = serializers.SerializerMethodField(help_text="Switched off by you (POST …/disable/)")
    config = serializers.SerializerMethodField(help_text="The VPN config (empty until it is delivered)")
    subscription_url = serializers.CharField()
    used_bytes = serializers.IntegerField(allow_null=True, help_text="Traffic used (null: not known)")
    limit_bytes = serializers.IntegerField(allow_null=True, help_text="Traffic limit (0 = unlimited, null: not known)")
    last_online = serializers.DateTimeField(allow_null=True)

    def get_disabled(self, usage) -> bool:
        return usage.account.disabled_at is not None

    def get_config(self, usage) -> str:
        return usage.account.subscription.config or usage.account.first_subscription.config


class ResellerPurchaseSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="batch.pk", help_text="The purchase (batch) id")
    plan = serializers.IntegerField(source="batch.plan_id")
    quantity = serializers.IntegerField(source="batch.quantity")
    periods = serializers.IntegerField(source="batch.periods")
    unit_amount = serializers.IntegerField(source="batch.unit_amount", help_text="Paid per account")
    total_amount = serializers.IntegerField(source="batch.total_amount")
    created_at = serializers.DateTimeField(source="batch.created_at")
    file_url = serializers.SerializerMethodField(help_text="The configs of this purchase as a CSV file")
    accounts = ResellerAccountSerializer(many=True)

    def get_file_url(self, purchase) -> str:
        return reverse("reseller-batch-file", args=[purchase["batch"].pk])


class ResellerBuySerializer(serializers.Serializer):
    plan = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="A plan id from GET /reseller/me/")
    quantity = serializers.IntegerField(min_value=1, max_value=bounds.MAX_QUANTITY, default=1,
                                        help_text="Accounts to buy: all of them or none (RESELLER_MAX_BULK at most)")
    label = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                  help_text="Your name for the account (several: numbered “label 1”, “label 2”…)")
    labels = serializers.ListField(child=serializers.CharField(max_length=64), required=False,
                                   max_length=bounds.MAX_QUANTITY, help_text="One label per account")
    periods = serializers.IntegerField(default=1, validators=[_periods], help_text="Periods of the plan each: 1, 3, 6 "
                                                                                  "or 12")
    idempotency_key = serializers.CharField(max_length=MAX_KEY, required=False,
                                            help_text="Or the Idempotency-Key header")
    expected_total = serializers.IntegerField(min_value=0, max_value=bounds.MAX_AMOUNT, required=False,
                                              help_text="The total you expect to pay: 409 if the price changed")

    def validate(self, attrs):
        if attrs.get("label") and attrs.get("labels"):
            raise serializers.ValidationError({"labels": ["Send label or labels, not both."]})
        return attrs


class ResellerRenewSerializer(serializers.Serializer):
    periods = serializers.IntegerField(default=1, validators=[_periods], help_text="1, 3, 6 or 12 periods of its plan")
    idempotency_key = serializers.CharField(max_length=MAX_KEY, required=False,
                                            help_text="Or the Idempotency-Key header")
    expected_total = serializers.IntegerField(min_value=0, max_value=bounds.MAX_AMOUNT, required=False,
                                              help_text="The total you expect to pay: 409 if the price changed")


class ResellerRenewedSerializer(serializers.Serializer):
    renewed = serializers.BooleanField(help_text="False: this idempotency key had renewed it already")
    account = ResellerAccountSerializer()


# --- views ------------------------------------------------------------------------------------------

class ResellerOnly:
    """Reseller keys only, throttled per key; 404 while the shop does not work with resellers."""

    authentication_classes = [ResellerTokenAuthentication]
    permission_classes = [AnonymousFirst, IsReseller]
    throttle_classes = [ResellerThrottle]

    def initial(self, request, *args, **kwargs):
        if not settings.ENABLE_RESELLERS:
            raise Http404
        super().initial(request, *args, **kwargs)

    @property
    def reseller_id(self) -> int:
        return self.request.user.reseller.pk


@extend_schema(tags=[TAG], responses=ResellerMeSerializer)
class MeView(ResellerOnly, APIView):
    def get(self, request):
        """Your wallet, credit, limits and the price of each plan you may sell."""
        reseller = selectors.reseller_get(self.reseller_id)
        customer = reseller.customer
        prices = [{"plan": plan, "list_amount": plan.price_amount,
                   "price_amount": services.reseller_quote(reseller=reseller, plan=plan).total_amount}
                  for plan in selectors.plans_for_sale(reseller)]
        owed = max(-customer.balance_amount, 0)
        data = {"id": reseller.pk, "balance_amount": customer.balance_amount,
                "credit_limit_amount": customer.credit_limit_amount, "credit_used_amount": owed,
                "available_amount": max(customer.balance_amount + customer.credit_limit_amount, 0),
                "is_frozen": reseller.is_frozen, "currency": settings.CURRENCY,
                "daily_account_limit": reseller.daily_account_limit,
                "accounts_today": selectors.accounts_made_today(reseller.pk), "prices": prices}
        return Response(ResellerMeSerializer(data).data)


@extend_schema(tags=[TAG])
class AccountViewSet(ResellerOnly, viewsets.GenericViewSet):
    """Your accounts: the id of an account stays the same over its renewals."""

    queryset = Account.objects.none()  # for the schema; rows come from the selectors
    serializer_class = ResellerAccountSerializer
    lookup_value_regex = r"[0-9]+"

    def _usage(self, account_id):
        return services.account_usage(reseller_id=self.reseller_id, account_id=account_id)

    @extend_schema(parameters=[OpenApiParameter("search", str, description="Part of a label, or an account id")])
    def list(self, request):
        """Your accounts, newest first, with their status and usage."""
        accounts = selectors.accounts_of(self.reseller_id, search=request.query_params.get("search", ""))
        page = self.paginate_queryset(accounts)
        return self.get_paginated_response(ResellerAccountSerializer(services.accounts_usage(list(page)), many=True).data)

    @extend_schema(request=ResellerBuySerializer, parameters=[KEY_PARAMETER],
                   responses={201: ResellerPurchaseSerializer, 200: ResellerPurchaseSerializer, **ERRORS})
    def create(self, request):
        """Buy accounts of a plan, paid from your wallet within your credit limit: all of them or
        none. 201 with the purchase and its accounts; the same idempotency key again answers 200
        with the same purchase and buys nothing."""
        data = ResellerBuySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        key = idempotency_key(request, v)
        labels = v.get("labels") or v.get("label") or None
        try:
            purchase = services.reseller_buy(reseller_id=self.reseller_id, plan_id=v["plan"], quantity=v["quantity"],
                                             idempotency_key=f"api:{self.reseller_id}:{key}", labels=labels,
                                             periods=v["periods"], expected_total=v.get("expected_total"))
        except ShopError as exc:
            return refused(exc, reseller_id=self.reseller_id, quantity=v["quantity"])
        body = ResellerPurchaseSerializer({"batch": purchase.batch,
                                   "accounts": services.accounts_usage(purchase.accounts)}).data
        return Response(body, status=status.HTTP_201_CREATED if purchase.created else status.HTTP_200_OK)

    @extend_schema(responses={200: ResellerAccountSerializer, 404: ResellerErrorSerializer})
    def retrieve(self, request, pk=None):
        """One of your accounts: its config, subscription link, status and traffic."""
        try:
            return Response(ResellerAccountSerializer(self._usage(pk)).data)
        except ShopError as exc:
            return refused(exc)

    @extend_schema(request=ResellerRenewSerializer, parameters=[KEY_PARAMETER], responses={200: ResellerRenewedSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        """Renew the account with its plan for `periods`: from its end while it runs, else from now
        (same account, same id). Once per idempotency key."""
        data = ResellerRenewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        key = idempotency_key(request, v)
        try:
            account, renewed = services.reseller_renew(reseller_id=self.reseller_id, account_id=pk,
                                                       idempotency_key=f"api:{key}", periods=v["periods"],
                                                       expected_total=v.get("expected_total"))
        except ShopError as exc:
            return refused(exc, reseller_id=self.reseller_id)
        return Response(ResellerRenewedSerializer({"renewed": renewed, "account": self._usage(account.pk)}).data)

    def _set_enabled(self, pk, enabled: bool) -> Response:
        try:
            services.account_set_enabled(reseller_id=self.reseller_id, account_id=pk, enabled=enabled)
            return Response(ResellerAccountSerializer(self._usage(pk)).data)
        except ShopError as exc:
            return refused(exc)

    @extend_schema(request=None, responses={200: ResellerAccountSerializer, 400: ResellerErrorSerializer, 404: ResellerErrorSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        """Switch the account off (it stops working; its time keeps running)."""
        return self._set_enabled(pk, False)

    @extend_schema(request=None, responses={200: ResellerAccountSerializer, 400: ResellerErrorSerializer, 404: ResellerErrorSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        """Switch the account back on (400 when it has ended: renew it first)."""
        return self._set_enabled(pk, True)


@extend_schema(tags=[TAG])
class BatchViewSet(ResellerOnly, viewsets.GenericViewSet):
    queryset = Batch.objects.none()  # for the schema
    lookup_value_regex = r"[0-9]+"

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY, 404: ResellerErrorSerializer})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The configs of one of your purchases as a CSV file (label, plan, end, config of each
        account, as they are now)."""
        batch = selectors.batch_of(self.reseller_id, pk)
        if batch is None:
            return refused(services.NotFound(_("There is no such purchase.")))
        return csv_download(*services.batch_file(batch=batch))
