"""The CRM's REST API (staff only): profiles, segments, activities, campaigns, a recompute.
Thin views: they read through the selectors and change through the services."""

from django.db import transaction
from django.utils.functional import lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from vpnbot.core.permissions import staff_with

from . import selectors, services
from .models import Campaign, Segment, UserActivity, UserProfile
from .services import CrmError
from .services.campaigns import CONVERSION_DAYS_RANGE, OFFER_HOURS_RANGE, OFFER_PERCENT_RANGE
from .tasks import recompute_profiles

SEGMENT_DEFINITIONS = {
    "new": "Joined within CRM_NEW_DAYS, no order yet",
    "prospect": "No order, joined between CRM_NEW_DAYS and CRM_DORMANT_DAYS ago",
    "dormant": "Never bought, joined more than CRM_DORMANT_DAYS ago",
    "active": "Has an active subscription",
    "vip": "Active, R+F+M score at least CRM_VIP_MIN_RFM",
    "high_value": "Active, lifetime spend at least CRM_HIGH_VALUE_AMOUNT",
    "at_risk": "Subscription ends within CRM_AT_RISK_DAYS with no renewal, or ended less than CRM_CHURN_GRACE_DAYS ago",
    "churned": "Last subscription ended more than CRM_CHURN_GRACE_DAYS ago",
    "won_back": "Churned, then bought again (for CRM_WON_BACK_DAYS)",
}


class CrmProfileSerializer(serializers.ModelSerializer):
    telegram_id = serializers.IntegerField(source="customer.telegram_id", read_only=True)
    username = serializers.CharField(source="customer.username", read_only=True)
    rfm = serializers.CharField(read_only=True)

    class Meta:
        model = UserProfile
        fields = ("customer", "telegram_id", "username", "segment", "stage", "rfm", "r_score", "f_score", "m_score",
                  "frequency", "monetary_amount", "average_order_amount", "first_order_at", "last_order_at",
                  "recency_days", "favourite_plan", "avg_days_between_orders", "avg_renewal_late_days",
                  "discounted_orders", "active_until", "last_expired_at", "churn_risk", "won_back_at", "updated_at")
        read_only_fields = fields


class CrmActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = UserActivity
        fields = ("id", "kind", "ref", "amount", "created_at")


class CrmSegmentSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    definition = serializers.CharField()
    count = serializers.IntegerField()


def _as_validator_message(message):
    """A message for DRF's min/max validators, which %-format it with the bound: its own % escaped."""
    return lazy(lambda: str(message).replace("%", "%%"), str)()


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ("id", "name", "segments", "condition", "text", "photo", "buttons", "offer_percent_bp",
                  "offer_valid_hours", "urgent", "scheduled_for", "conversion_days", "status", "created_by",
                  "created_at", "started_at", "finished_at")
        read_only_fields = ("status", "created_by", "created_at", "started_at", "finished_at")
        # the bounds come from the model (vpnbot.core.bounds); said as the services say them
        extra_kwargs = {field: {"error_messages": {"min_value": _as_validator_message(message),
                                                   "max_value": _as_validator_message(message)}}
                        for field, message in (("offer_percent_bp", OFFER_PERCENT_RANGE),
                                               ("offer_valid_hours", OFFER_HOURS_RANGE),
                                               ("conversion_days", CONVERSION_DAYS_RANGE))}

    def validate(self, attrs):
        errors = services.campaign_check_fields(attrs)
        if errors:
            raise ValidationError({field: [error] for field, error in errors.items()})
        return attrs


class CampaignStatsSerializer(serializers.Serializer):
    targeted = serializers.IntegerField()
    pending = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    blocked = serializers.IntegerField()
    skipped = serializers.IntegerField()
    pressed = serializers.IntegerField()
    converted = serializers.IntegerField()
    revenue_amount = serializers.IntegerField()


@extend_schema(tags=["crm"], parameters=[
    OpenApiParameter("segment", str, enum=Segment.values, description="Only this segment"),
    OpenApiParameter("stage", str, description="Only this journey stage"),
    OpenApiParameter("min_churn_risk", int, description="Churn risk at least this (0-100)"),
    OpenApiParameter("rfm", str, description="Exact RFM scores, e.g. 555"),
])
class ProfileList(generics.ListAPIView):
    """Customer profiles, riskiest first."""

    serializer_class = CrmProfileSerializer

    def get_queryset(self):
        params = self.request.query_params
        segment, rfm, raw_risk = params.get("segment"), params.get("rfm"), params.get("min_churn_risk")
        if segment and segment not in Segment.values:
            raise ValidationError({"segment": [f"unknown segment; known: {', '.join(Segment.values)}"]})
        if raw_risk and not (raw_risk.isascii() and raw_risk.isdigit() and len(raw_risk) <= 3
                             and int(raw_risk) <= 100):  # "²".isdigit()
            raise ValidationError({"min_churn_risk": ["a whole number 0-100"]})
        if rfm and (len(rfm) != 3 or not (rfm.isascii() and rfm.isdigit())):
            raise ValidationError({"rfm": ["three digits, e.g. 555"]})
        return selectors.profiles_list(segment=segment or "", stage=params.get("stage") or "",
                                       min_churn_risk=int(raw_risk) if raw_risk else None, rfm=rfm or "")


@extend_schema(tags=["crm"])
class ProfileDetail(generics.RetrieveAPIView):
    """One customer's profile (by customer id)."""

    serializer_class = CrmProfileSerializer
    queryset = UserProfile.objects.select_related("customer")
    lookup_field = "customer_id"

    def get_object(self):
        if not 0 < self.kwargs["customer_id"] < 2**63:  # no customer: a 30-digit id overflows SQLite's lookup
            raise NotFound()
        return super().get_object()


@extend_schema(tags=["crm"])
class ActivityList(generics.ListAPIView):
    """A customer's activities, newest first."""

    serializer_class = CrmActivitySerializer

    def get_queryset(self):
        return selectors.activities_of(self.kwargs["customer_id"])


class SegmentList(APIView):
    permission_classes = staff_with("crm.view_userprofile")

    @extend_schema(tags=["crm"], responses=CrmSegmentSerializer(many=True))
    def get(self, request):
        """Every segment with its definition and current size."""
        counts = selectors.segment_counts()
        data = [{"key": key, "label": str(label), "definition": SEGMENT_DEFINITIONS.get(key, ""), "count": counts[key]}
                for key, label in Segment.choices]
        return Response(CrmSegmentSerializer(data, many=True).data)


class RecomputeView(APIView):
    permission_classes = staff_with("crm.change_userprofile")

    @extend_schema(tags=["crm"], request=None, responses={202: inline_serializer("RecomputeQueued", {
        "queued": serializers.BooleanField()})})
    def post(self, request):
        """Queue a recompute of every profile now."""
        transaction.on_commit(recompute_profiles.delay)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


SEND = staff_with("crm.view_campaign", "crm.send_campaign")


@extend_schema(tags=["crm"])
class CampaignViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                      mixins.DestroyModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Campaigns: drafts may be edited and deleted; `send` schedules one, `stats` reports."""

    serializer_class = CampaignSerializer
    queryset = Campaign.objects.order_by("-id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        try:
            serializer.instance = services.campaign_create(created_by=self.request.user.get_username(), **data)
        except CrmError as exc:
            raise ValidationError({"detail": [str(exc)]}) from None

    def perform_update(self, serializer):
        try:
            serializer.instance = services.campaign_update(campaign_id=serializer.instance.pk,
                                                           **serializer.validated_data)
        except CrmError as exc:
            raise ValidationError({"status": [str(exc)]}) from None

    def perform_destroy(self, instance):
        try:
            services.campaign_delete(campaign_id=instance.pk)
        except CrmError as exc:
            raise ValidationError({"status": [str(exc)]}) from None

    @extend_schema(request=inline_serializer("CampaignSend", {
        "at": serializers.DateTimeField(required=False, help_text="When to send; default now")}),
        responses=CampaignSerializer)
    @action(detail=True, methods=["post"], permission_classes=SEND)
    def send(self, request, pk=None):
        """Schedule the campaign (now, or at `at`)."""
        campaign = self.get_object()
        at = None
        if request.data.get("at"):
            field = serializers.DateTimeField()
            at = field.run_validation(request.data["at"])
        try:
            campaign = services.campaign_start(campaign_id=campaign.pk, at=at)
        except CrmError as exc:
            raise ValidationError({"detail": [str(exc)]}) from None
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(request=None, responses=inline_serializer("CampaignStopped", {
        "campaign": CampaignSerializer(), "cancelled": serializers.IntegerField(help_text="Messages not sent")}))
    @action(detail=True, methods=["post"], permission_classes=SEND)
    def stop(self, request, pk=None):
        """Stop a scheduled or sending campaign: messages not yet sent are cancelled."""
        campaign = self.get_object()
        try:
            campaign, cancelled = services.campaign_stop(campaign_id=campaign.pk)
        except CrmError as exc:
            raise ValidationError({"detail": [str(exc)]}) from None
        return Response({"campaign": CampaignSerializer(campaign).data, "cancelled": cancelled})

    @extend_schema(responses=CampaignStatsSerializer)
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        """Targeted, sent, failed, blocked, pressed, converted and revenue attributed."""
        campaign = self.get_object()
        return Response(CampaignStatsSerializer(selectors.campaign_stats(campaign=campaign).as_dict()).data)
