"""The anti-fraud's staff API: the risk cases (?status=held|flagged|…), released or confirmed by
an operator, and bans of customers. Permissions: antifraud.view_riskcase to read the cases,
antifraud.decide_riskcase to release or confirm them, antifraud.ban_customer to ban or unban."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from vpnbot.core.permissions import staff_with
from vpnbot.shop.models import Customer

from . import selectors, services
from .models import Ban, RiskCase

DECIDE = staff_with("antifraud.view_riskcase", "antifraud.decide_riskcase")
BAN = staff_with("shop.view_customer", "antifraud.ban_customer")


class RiskCaseSerializer(serializers.ModelSerializer):
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True,
                                    help_text="Why the rules scored it so, as readable sentences")

    class Meta:
        model = RiskCase
        fields = ("id", "subject", "subject_id", "customer", "score", "reasons", "status", "amount", "created_at",
                  "decided_by", "decided_at", "decided_why")
        read_only_fields = fields
        extra_kwargs = {
            "subject_id": {"help_text": "A receipt's (/api/v1/topups/{id}/), an online payment's or a refunded "
                                        "order's id; the invited or trying customer's id for a referral or a trial"},
            "amount": {"help_text": "The money at stake (a receipt, a reward, a refund)"},
        }


class RiskReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why; kept with the decision")


class BanSerializer(serializers.ModelSerializer):
    banned = serializers.SerializerMethodField()

    class Meta:
        model = Ban
        fields = ("id", "customer", "banned", "reason", "by", "created_at", "lifted_at", "lifted_by", "lift_reason")
        read_only_fields = fields

    def get_banned(self, ban) -> bool:
        return ban.lifted_at is None


def _refused(exc: Exception) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("status", str, enum=RiskCase.Status.values),
    OpenApiParameter("subject", str, enum=RiskCase.Subject.values),
    OpenApiParameter("customer", int, description="A customer id")]))
class RiskCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """What the risk checks flagged or held, newest first, with the score and its reasons."""

    serializer_class = RiskCaseSerializer
    queryset = RiskCase.objects.none()  # for the schema and the permissions; the rows come from get_queryset

    def get_queryset(self):
        return selectors.cases()

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        params, errors = self.request.query_params, {}
        for name, values in (("status", RiskCase.Status.values), ("subject", RiskCase.Subject.values)):
            value = params.get(name, "")
            if value and value not in values:
                errors[name] = [_("One of: %(values)s.") % {"values": ", ".join(values)}]
            elif value:
                queryset = queryset.filter(**{name: value})
        customer = params.get("customer", "")
        if customer:
            if not (customer.isascii() and customer.isdigit() and len(customer) <= 18):
                errors["customer"] = [_("A whole number.")]
            else:
                queryset = queryset.filter(customer_id=int(customer))
        if errors:
            raise ValidationError(errors)
        return queryset

    def _decide(self, request, decide) -> Response:
        case = self.get_object()
        data = RiskReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            case = decide(case_id=case.pk, by=f"api:{request.user.get_username()}", why=data.validated_data["reason"])
        except services.AntifraudError as exc:
            return _refused(exc)
        return Response(RiskCaseSerializer(case).data)

    @extend_schema(request=RiskReasonSerializer, responses=RiskCaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=DECIDE)
    def release(self, request, pk=None):
        """Let it go: a held referral reward is paid, a held trial starts (the customer is told), a
        receipt or refund goes through at its next approval without a second confirmation."""
        return self._decide(request, services.case_release)

    @extend_schema(request=RiskReasonSerializer, responses=RiskCaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=DECIDE)
    def confirm(self, request, pk=None):
        """Confirm the hold: the reward is never paid, the trial is refused (the customer is told
        politely); a receipt or refund still needs a second confirmation."""
        return self._decide(request, services.case_confirm)


class CustomerBanView(APIView):
    """Ban a customer (POST with a reason): the bot answers them once and ignores them after,
    their pending payments are frozen. Banning a banned customer changes nothing."""

    permission_classes = BAN

    @extend_schema(request=RiskReasonSerializer, responses={201: BanSerializer, 200: BanSerializer})
    def post(self, request, pk: int):
        customer = get_object_or_404(Customer, pk=pk)
        data = RiskReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        existing = selectors.ban_active(customer.pk)
        try:
            ban = services.customer_ban(customer_id=customer.pk, by=f"api:{request.user.get_username()}",
                                        reason=data.validated_data["reason"])
        except services.AntifraudError as exc:
            return _refused(exc)
        return Response(BanSerializer(ban).data, status=status.HTTP_200_OK if existing else status.HTTP_201_CREATED)


class CustomerUnbanView(APIView):
    """Lift a customer's ban (POST with a reason); 404 when they are not banned."""

    permission_classes = BAN

    @extend_schema(request=RiskReasonSerializer, responses=BanSerializer)
    def post(self, request, pk: int):
        customer = get_object_or_404(Customer, pk=pk)
        data = RiskReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            ban = services.customer_unban(customer_id=customer.pk, by=f"api:{request.user.get_username()}",
                                          reason=data.validated_data["reason"])
        except services.AntifraudError as exc:
            return _refused(exc)
        if ban is None:
            return Response({"detail": _("This customer is not banned.")}, status=status.HTTP_404_NOT_FOUND)
        return Response(BanSerializer(ban).data)
