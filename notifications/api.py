"""The staff API of the notifications app: the outbox (read-only), broadcasts (create, status,
cancel, pause, resume) and delivery statistics; thin callers of services and selectors."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from vpnbot.core.permissions import staff_with
from vpnbot.shop import audiences

from . import selectors, services, types
from .models import Broadcast, Notification


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ("id", "customer", "chat_id", "type", "status", "text", "photo", "context", "urgent", "transactional",
                  "source", "broadcast", "scheduled_for", "deferred_count", "deferred_reason", "attempts", "last_error",
                  "telegram_message_id", "created_at", "sent_at")
        read_only_fields = fields


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    blocked = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    remaining = serializers.IntegerField()
    rate = serializers.FloatField()
    eta_seconds = serializers.IntegerField(allow_null=True)


class BroadcastSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Broadcast
        fields = ("id", "text", "photo", "buttons", "audience", "paid", "status", "total", "progress", "created_at",
                  "started_at", "finished_at")
        read_only_fields = ("status", "total", "progress", "created_at", "started_at", "finished_at")

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, obj):
        if not obj.started_at:
            return None
        return ProgressSerializer(selectors.broadcast_progress(broadcast=obj)).data


class BroadcastCreateSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=4096)
    photo = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    buttons = serializers.ListField(child=serializers.ListField(child=serializers.ListField(
        child=serializers.CharField(), min_length=2, max_length=2)), required=False, default=list,
        help_text='rows of [label, "url:https://…"]')
    audience = serializers.ChoiceField(choices=[], default="all")
    paid = serializers.BooleanField(default=False)
    start = serializers.BooleanField(default=True, help_text="Start sending at once (else a draft)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience"].choices = [a.key for a in audiences.audiences(with_params=False)]


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The outbox: filter with ?status=, ?type=, ?customer=."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        params = self.request.query_params
        customer = params.get("customer", "")
        if customer and not (customer.isascii() and customer.isdigit() and len(customer) <= 18):  # "²".isdigit()
            raise ValidationError({"customer": [_("A customer id (a whole number).")]})
        return selectors.notification_list(status=params.get("status", ""), type=params.get("type", ""),
                                           customer=customer)

    @extend_schema(parameters=[
        OpenApiParameter("status", str, enum=[s for s, _l in Notification.Status.choices]),
        OpenApiParameter("type", str, enum=types.ALL), OpenApiParameter("customer", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


SEND = staff_with("notifications.view_broadcast", "notifications.send_broadcast")


class BroadcastViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BroadcastSerializer
    queryset = Broadcast.objects.all().order_by("-id")

    @extend_schema(request=BroadcastCreateSerializer, responses={201: BroadcastSerializer})
    def create(self, request):
        """A draft (add permission); with "start": true it is also sent (send permission)."""
        data = BroadcastCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["start"] and not request.user.has_perm("notifications.send_broadcast"):
            raise PermissionDenied(_("Starting a broadcast needs the permission to send broadcasts."))
        try:
            b = services.broadcast_create(created_by=None, text=v["text"], photo=v["photo"], buttons=v["buttons"],
                                          audience=v["audience"], paid=v["paid"], start=v["start"])
        except services.NotificationError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        b.refresh_from_db()
        return Response(BroadcastSerializer(b).data, status=status.HTTP_201_CREATED)

    def _change(self, fn, pk):
        try:
            b = fn(broadcast_id=self.get_object().pk)
        except services.NotificationError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(BroadcastSerializer(b).data)

    @extend_schema(request=None, responses=BroadcastSerializer)
    @action(detail=True, methods=["post"], permission_classes=SEND)
    def cancel(self, request, pk=None):
        return self._change(services.broadcast_cancel, pk)

    @extend_schema(request=None, responses=BroadcastSerializer)
    @action(detail=True, methods=["post"], permission_classes=SEND)
    def pause(self, request, pk=None):
        return self._change(services.broadcast_pause, pk)

    @extend_schema(request=None, responses=BroadcastSerializer)
    @action(detail=True, methods=["post"], permission_classes=SEND)
    def resume(self, request, pk=None):
        response = self._change(services.broadcast_resume, pk)
        services.broadcast_run_later(int(pk))
        return response


class StatsView(APIView):
    permission_classes = staff_with("notifications.view_notification")

    @extend_schema(
        parameters=[OpenApiParameter("days", int, description="1-90, default 7")],
        responses=inline_serializer("NotificationStats", {
            "days": serializers.IntegerField(), "delivery_rate": serializers.FloatField(allow_null=True),
            "pending": serializers.IntegerField(), "totals": serializers.DictField(child=serializers.IntegerField()),
            "rows": serializers.ListField(child=serializers.DictField())}))
    def get(self, request):
        days = request.query_params.get("days", "7")
        if not (days.isascii() and days.isdigit() and len(days) <= 2 and 1 <= int(days) <= 90):  # "²".isdigit()
            raise ValidationError({"days": "A whole number from 1 to 90."})
        return Response(selectors.stats(days=int(days)))
