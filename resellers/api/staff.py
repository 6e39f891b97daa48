"""The resellers' staff API (/api/v1/resellers/…), with the staff's tokens like the rest of
/api/v1/: promote a customer (services.reseller_promote), list and read resellers with their
wallet, credit and this month's figures, change their terms (services.reseller_update), issue
and revoke their API keys, demote them, download a monthly statement.

Permissions: resellers.view_reseller to read, add_reseller to promote, change_reseller to
change, and the named resellers.manage_reseller for tokens (issue, revoke) and demote."""

from __future__ import annotations

import re

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from vpnbot.core import bounds
from vpnbot.core.permissions import staff_with

from .. import selectors, services
from ..models import Reseller
from .common import ResellerErrorSerializer, csv_download, refused

TAG = "Resellers"
MANAGE = staff_with("resellers.view_reseller", "resellers.manage_reseller")
ID = {"min_value": 1, "max_value": 2**63 - 1}
BP = {"min_value": 0, "max_value": bounds.BASIS_POINTS}
TERMS = ("markup_bp", "commission_bp", "floor_bp", "daily_account_limit", "is_frozen", "note")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# --- serializers ------------------------------------------------------------------------------------

class ResellerPlanPriceSerializer(serializers.Serializer):
    plan = serializers.IntegerField(**ID)
    price_amount = serializers.IntegerField(min_value=0, max_value=bounds.MAX_AMOUNT,
                                            help_text="Per period, instead of the tier's discount")


class ResellerPlanPriceChangeSerializer(ResellerPlanPriceSerializer):
    price_amount = serializers.IntegerField(min_value=0, max_value=bounds.MAX_AMOUNT, allow_null=True,
                                            help_text="Per period; null drops the plan's own price")


class ResellerFiguresSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    accounts_bought = serializers.IntegerField()
    renewals = serializers.IntegerField()
    spent_amount = serializers.IntegerField()
    commission_amount = serializers.IntegerField()
    sub_resellers = serializers.IntegerField()
    sub_reseller_sales_amount = serializers.IntegerField()


class ResellerSerializer(serializers.Serializer):
    """A reseller in a list: their terms, wallet and credit."""

    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id", help_text="The customer's id in the shop")
    telegram_id = serializers.IntegerField(source="customer.telegram_id")
    username = serializers.CharField(source="customer.username")
    parent = serializers.IntegerField(source="parent_id", allow_null=True, help_text="The parent reseller's id")
    is_active = serializers.BooleanField(help_text="False: demoted")
    is_frozen = serializers.BooleanField()
    discount_bp = serializers.IntegerField()
    markup_bp = serializers.IntegerField()
    commission_bp = serializers.IntegerField()
    floor_bp = serializers.IntegerField()
    daily_account_limit = serializers.IntegerField()
    note = serializers.CharField()
    balance_amount = serializers.IntegerField(source="customer.balance_amount")
    credit_limit_amount = serializers.IntegerField(source="customer.credit_limit_amount")
    credit_used_amount = serializers.SerializerMethodField(help_text="What they owe now")
    available_amount = serializers.SerializerMethodField(help_text="Wallet plus unused credit")
    accounts_running = serializers.IntegerField(source="running", help_text="Their accounts running now")
    created_at = serializers.DateTimeField()
    demoted_at = serializers.DateTimeField(allow_null=True)

    def get_credit_used_amount(self, reseller) -> int:
        return max(-reseller.customer.balance_amount, 0)

    def get_available_amount(self, reseller) -> int:
        return max(reseller.customer.balance_amount + reseller.customer.credit_limit_amount, 0)


class ResellerDetailSerializer(ResellerSerializer):
    prices = serializers.SerializerMethodField(help_text="Their own prices per plan")
    plans = serializers.SerializerMethodField(help_text="Plans they may sell (empty: every plan on sale)")
    this_month = serializers.SerializerMethodField(help_text="This month's figures (the shop's time zone)")
    commission_total_amount = serializers.SerializerMethodField(help_text="Commission earned on sub-resellers, "
                                                                          "over all time, less what was taken back")

    @staticmethod
    def _price_rows(reseller) -> list[dict]:
        return [{"plan": plan, "price_amount": amount} for plan, amount in sorted(selectors.prices_of(reseller).items())]

    @extend_schema_field(ResellerPlanPriceSerializer(many=True))
    def get_prices(self, reseller):
        return ResellerPlanPriceSerializer(self._price_rows(reseller), many=True).data

    def get_plans(self, reseller) -> list[int]:
        return selectors.plan_ids_of(reseller)

    @extend_schema_field(ResellerFiguresSerializer)
    def get_this_month(self, reseller):
        now = timezone.localtime()
        start, end = services.month_bounds(now.year, now.month)
        figures = services.reseller_figures(reseller=reseller, start=start, end=end)
        return ResellerFiguresSerializer({**figures.__dict__, "start": start, "end": end}).data

    def get_commission_total_amount(self, reseller) -> int:
        return selectors.commission_total(reseller.pk)


class _Terms(serializers.Serializer):
    discount_bp = serializers.IntegerField(**BP, help_text="The tier: off the list price (1500 = 15%)")
    credit_limit_amount = serializers.IntegerField(min_value=0, max_value=bounds.MAX_AMOUNT,
                                                   help_text="How far below zero their wallet may go")
    markup_bp = serializers.IntegerField(**BP, required=False, help_text="A sub-reseller: over the parent's price")
    commission_bp = serializers.IntegerField(**BP, required=False, help_text="The parent's commission")
    floor_bp = serializers.IntegerField(**BP, required=False, help_text="Their sub-resellers' floor price")
    daily_account_limit = serializers.IntegerField(min_value=0, max_value=bounds.MAX_COUNT, required=False)
    is_frozen = serializers.BooleanField(required=False)
    plans = serializers.ListField(child=serializers.IntegerField(**ID), required=False, max_length=1000,
                                  help_text="Plan ids they may sell (empty: every plan on sale)")
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)

    def validate_prices(self, rows):
        plans = [row["plan"] for row in rows]
        if len(plans) != len(set(plans)):
            raise serializers.ValidationError(_("One price per plan."))
        return rows


class ResellerCreateSerializer(_Terms):
    customer = serializers.IntegerField(**ID, help_text="The customer's id in the shop")
    discount_bp = serializers.IntegerField(**BP, default=0, help_text="The tier: off the list price (1500 = 15%)")
    prices = ResellerPlanPriceSerializer(many=True, required=False, max_length=1000, help_text="Per-plan prices")
    credit_limit_amount = serializers.IntegerField(min_value=0, max_value=bounds.MAX_AMOUNT, default=0,
                                                   help_text="How far below zero their wallet may go")
    parent = serializers.IntegerField(**ID, required=False, allow_null=True,
                                      help_text="A parent reseller's id: this one is their sub-reseller")


class ResellerUpdateSerializer(_Terms):
    discount_bp = serializers.IntegerField(**BP, required=False, help_text="The tier: off the list price")
    prices = ResellerPlanPriceChangeSerializer(many=True, required=False, max_length=1000,
                                   help_text="Per-plan prices to set (null: drop); plans not named keep theirs")
    credit_limit_amount = serializers.IntegerField(min_value=0, max_value=bounds.MAX_AMOUNT, required=False,
                                                   help_text="Not under what they owe now")
    parent = serializers.IntegerField(**ID, required=False, allow_null=True, help_text="null: no parent")


class ResellerTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, to tell keys apart")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    is_revoked = serializers.SerializerMethodField()

    def get_is_revoked(self, token) -> bool:
        return token.revoked_at is not None


class ResellerTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                 help_text="What it is for, e.g. their website")


class ResellerTokenCreatedSerializer(ResellerTokenSerializer):
    key = serializers.CharField(help_text="The API key: shown this once, never again (only its hash is kept)")


# --- views ------------------------------------------------------------------------------------------

def _bool(value: str, name: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ValidationError({name: [_("true or false.")]})


def _terms(v: dict) -> dict:
    fields = {name: v[name] for name in TERMS if name in v}
    if "plans" in v:
        fields["plan_ids"] = v["plans"]
    return fields


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("active", bool, description="true: active resellers; false: demoted ones"),
    OpenApiParameter("parent", int, description="A parent reseller's id: their sub-resellers")]))
@extend_schema(tags=[TAG])
class ResellerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Resellers: customers who buy accounts for their own customers at their own prices, within a
    credit limit, newest first."""

    serializer_class = ResellerSerializer
    queryset = Reseller.objects.none()  # for the schema; the rows come from get_queryset
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.resellers_overview()

    def get_serializer_class(self):
        return ResellerSerializer if self.action == "list" else ResellerDetailSerializer

    def get_permissions(self):
        if self.action in ("create_token", "revoke_token", "demote"):
            return [permission() for permission in MANAGE]
        return super().get_permissions()

    def filter_queryset(self, queryset):
        """?active=true|false ?parent=<id>; a bad value is a 400 (after the permissions)."""
        if self.action != "list":
            return queryset
        params = self.request.query_params
        if params.get("active"):
            queryset = queryset.filter(is_active=_bool(params["active"], "active"))
        parent = params.get("parent", "")
        if parent:
            if not (parent.isascii() and parent.isdigit() and len(parent) <= 18):
                raise ValidationError({"parent": [_("A reseller id (a whole number).")]})
            queryset = queryset.filter(parent_id=int(parent))
        return queryset

    def _by(self) -> str:
        return f"api:{self.request.user.get_username()}"

    def _answer(self, reseller_id: int, code=status.HTTP_200_OK) -> Response:
        return Response(ResellerDetailSerializer(self.get_queryset().get(pk=reseller_id)).data, status=code)

    @extend_schema(request=ResellerCreateSerializer, responses={201: ResellerDetailSerializer, 400: ResellerErrorSerializer})
    def create(self, request):
        """Make a customer a reseller (or a demoted one active again) with a tier (discount_bp) or
        per-plan prices, a credit limit and optionally a parent (a sub-reseller)."""
        data = ResellerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            reseller = services.reseller_promote(
                customer_id=v["customer"], by=self._by(), parent_id=v.get("parent"), discount_bp=v["discount_bp"],
                prices={row["plan"]: row["price_amount"] for row in v.get("prices", [])},
                credit_limit_amount=v["credit_limit_amount"], **_terms(v))
        except services.ResellerError as exc:
            return refused(exc)
        return self._answer(reseller.pk, status.HTTP_201_CREATED)

    @extend_schema(request=ResellerUpdateSerializer, responses={200: ResellerDetailSerializer, 400: ResellerErrorSerializer})
    def partial_update(self, request, pk=None):
        """Change a reseller's terms; what is not sent stays. The credit limit cannot go under
        what they owe."""
        reseller = self.get_object()
        data = ResellerUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        fields = _terms(v)
        if "discount_bp" in v:
            fields["discount_bp"] = v["discount_bp"]
        if "parent" in v:
            fields["parent_id"] = v["parent"]
        try:
            services.reseller_update(
                reseller_id=reseller.pk, by=self._by(), credit_limit_amount=v.get("credit_limit_amount"),
                prices={row["plan"]: row["price_amount"] for row in v.get("prices", [])}, **fields)
        except services.ResellerError as exc:
            return refused(exc)
        return self._answer(reseller.pk)

    @extend_schema(request=None, responses={200: ResellerDetailSerializer})
    @action(detail=True, methods=["post"])
    def demote(self, request, pk=None):
        """No longer a reseller: their keys are revoked, they cannot buy or renew; their accounts
        run until they end and what they owe stays owed. Nothing happens to one already demoted."""
        reseller = self.get_object()
        services.reseller_demote(reseller_id=reseller.pk, by=self._by())
        return self._answer(reseller.pk)

    @extend_schema(responses=ResellerTokenSerializer(many=True))
    @action(detail=True, methods=["get"])
    def tokens(self, request, pk=None):
        """Their API keys, newest first (never a key: only its first characters)."""
        reseller = self.get_object()
        return Response(ResellerTokenSerializer(selectors.tokens_of(reseller.pk), many=True).data)

    @extend_schema(request=ResellerTokenCreateSerializer, responses={201: ResellerTokenCreatedSerializer, 400: ResellerErrorSerializer})
    @tokens.mapping.post
    def create_token(self, request, pk=None):
        """A new API key for an active reseller. The key is in this answer only: hand it over now."""
        reseller = self.get_object()
        data = ResellerTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token, key = services.token_create(reseller_id=reseller.pk, name=data.validated_data["name"])
        except services.ResellerError as exc:
            return refused(exc)
        return Response({**ResellerTokenSerializer(token).data, "key": key}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ResellerTokenSerializer, 404: ResellerErrorSerializer})
    @action(detail=True, methods=["post"], url_path=r"tokens/(?P<token_id>[0-9]+)/revoke")
    def revoke_token(self, request, pk=None, token_id=None):
        """Revoke one of their keys (at once; revoking a revoked key is no error)."""
        reseller = self.get_object()
        try:
            token = services.token_revoke(token_id=int(token_id), reseller_id=reseller.pk)
        except services.ResellerError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        return Response(ResellerTokenSerializer(token).data)

    @extend_schema(parameters=[OpenApiParameter("month", str, description="YYYY-MM (default: this month)")],
                   responses={(200, "text/csv"): OpenApiTypes.BINARY, 400: ResellerErrorSerializer})
    @action(detail=True, methods=["get"])
    def statement(self, request, pk=None):
        """The month's statement as CSV: every wallet movement with its running balance, the
        opening and closing balance and the month's figures."""
        reseller = self.get_object()
        value = request.query_params.get("month", "")
        if value:
            match = _MONTH.match(value)
            year, month = (int(match[1]), int(match[2])) if match else (0, 0)
            if not (2000 <= year <= 2999 and 1 <= month <= 12):
                return Response({"detail": _("month: YYYY-MM, e.g. 2025-03.")}, status=status.HTTP_400_BAD_REQUEST)
        else:
            now = timezone.localtime()
            year, month = now.year, now.month
        return csv_download(*services.reseller_statement_csv(reseller=reseller, year=year, month=month))
