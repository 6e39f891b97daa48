"""The staff API of the notifications app: the outbox (read-only), broadcasts (create, status,
cancel, pause, resume), delivery statistics and scheduled messages (create, list, change until
they start, cancel, preview); thin callers of services and selectors."""

from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from vpnbot.core import dates
from vpnbot.core.permissions import staff_with
from vpnbot.shop import audiences
from vpnbot.transport.permissions import is_admin

from . import selectors, services, types
from .models import Broadcast, Notification, ScheduledBatch, ScheduledMessage


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


# --- scheduled messages ------------------------------------------------------------------------------------------

SCHEDULE = "notifications.schedule_message"
WEEKDAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _display(wall, request) -> str:
    """A clock time in the reader's calendar: Jalali for a Persian reader."""
    return dates.wall_text(wall, dates.calendar_for(getattr(request, "LANGUAGE_CODE", None), settings.CALENDAR))


class UpcomingSerializer(serializers.Serializer):
    wall = serializers.CharField(help_text="The clock time (on each customer's own clock when local_time is true)")
    at = serializers.DateTimeField(help_text="That clock time in the message's time zone")
    display = serializers.CharField(help_text="The clock time as the reader reads dates (Jalali in Persian)")


class BatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScheduledBatch
        fields = ("zone", "due_at", "status", "recipients", "note")
        read_only_fields = fields


class OccurrenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="occurrence.pk")
    wall = serializers.CharField(source="occurrence.wall")
    at = serializers.DateTimeField(source="occurrence.at")
    display = serializers.SerializerMethodField()
    status = serializers.CharField(source="occurrence.status")
    note = serializers.CharField(source="occurrence.note")
    broadcast = serializers.IntegerField(source="occurrence.broadcast_id", allow_null=True)
    recipients = serializers.IntegerField(source="occurrence.recipients")
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    blocked = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    pending = serializers.IntegerField()
    batches = BatchSerializer(many=True, help_text="One per time zone when it goes at local time")

    def get_display(self, obj) -> str:
        return _display(datetime.strptime(obj.occurrence.wall, "%Y-%m-%dT%H:%M:%S"), self.context.get("request"))


class ScheduledMessageSerializer(serializers.ModelSerializer):
    audience_label = serializers.SerializerMethodField()
    repeat_description = serializers.SerializerMethodField()
    weekdays = serializers.SerializerMethodField()
    calendar = serializers.ChoiceField(choices=ScheduledMessage.Calendar.values, read_only=True)
    starts_at_display = serializers.SerializerMethodField()
    next_occurrences = serializers.SerializerMethodField()
    occurrences = serializers.SerializerMethodField()

    class Meta:
        model = ScheduledMessage
        fields = ("id", "status", "text", "media_type", "media", "buttons", "audience", "audience_params",
                  "audience_label", "starts_at", "starts_at_display", "time_zone", "local_time", "repeat", "rrule",
                  "interval", "weekdays", "month_day", "calendar", "until", "count", "repeat_description", "pin",
                  "urgent", "created_by", "operator_chat_id", "created_at", "started_at", "finished_at",
                  "next_occurrences", "occurrences")
        read_only_fields = fields

    def _calendar(self) -> str:
        return dates.calendar_for(getattr(self.context.get("request"), "LANGUAGE_CODE", None), settings.CALENDAR)

    def get_audience_label(self, obj) -> str:
        return audiences.audience_describe(obj.audience, obj.audience_params)

    def get_repeat_description(self, obj) -> str:
        return services.scheduled_describe(obj, calendar=self._calendar())

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=WEEKDAY_CODES)))
    def get_weekdays(self, obj):
        return [WEEKDAY_CODES[d] for d in obj.weekdays or []]

    def get_starts_at_display(self, obj) -> str:
        return dates.instant_text(obj.starts_at, obj.time_zone, self._calendar()) if obj.starts_at else ""

    @extend_schema_field(UpcomingSerializer(many=True))
    def get_next_occurrences(self, obj):
        request = self.context.get("request")
        items = services.scheduled_upcoming(obj, limit=self.context.get("next", 5))
        return UpcomingSerializer([{"wall": u.wall.isoformat(), "at": u.at, "display": _display(u.wall, request)}
                                   for u in items], many=True).data

    @extend_schema_field(OccurrenceSerializer(many=True))
    def get_occurrences(self, obj):
        reports = selectors.scheduled_occurrences(message=obj, limit=self.context.get("sent", 20))
        return OccurrenceSerializer(reports, many=True, context=self.context).data


class ScheduledWriteSerializer(serializers.Serializer):
    """What an operator sets; on PATCH, only what is sent changes."""

    text = serializers.CharField(required=False, allow_blank=True, max_length=20_000, trim_whitespace=False,
                                 help_text="HTML as Telegram reads it (b, i, u, s, a href, code, pre, blockquote, "
                                           "tg-spoiler); the caption of a file (1024 characters, else 4096)")
    media_type = serializers.ChoiceField(choices=["", "photo", "video", "document"], required=False)
    media = serializers.CharField(required=False, allow_blank=True, max_length=255,
                                  help_text="A Telegram file_id or an https URL of the photo, video or document")
    buttons = serializers.ListField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.CharField(), min_length=2,
                                                                max_length=2)),
        required=False, help_text='Link buttons: rows of [label, "https://…"]')
    audience = serializers.ChoiceField(choices=[], required=False, help_text="A registered audience (see audience_params)")
    audience_params = serializers.DictField(
        required=False, help_text='plan: {"plan": id}; expiring: {"days": N}; language: {"language": "fa"}; '
                                  'telegram_ids: {"ids": [..] or "CSV text"}; the others take none')
    starts_at = serializers.CharField(
        required=False, max_length=40,
        help_text="The first time: ISO 8601 with an offset, or 'YYYY-MM-DD HH:MM' on the message's clock "
                  "(time_zone); a year below 1700 is Jalali ('1405-01-01 10:00')")
    time_zone = serializers.CharField(required=False, max_length=64, help_text="The clock of the times; default TIME_ZONE")
    local_time = serializers.BooleanField(required=False, help_text="At that clock time in each customer's own time zone")
    repeat = serializers.ChoiceField(choices=ScheduledMessage.Repeat.choices, required=False,
                                     help_text="once (default), daily, weekly, monthly, or rrule (implied by rrule)")
    rrule = serializers.CharField(required=False, allow_blank=True, max_length=500,
                                  help_text="An RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,TH (from starts_at)")
    interval = serializers.IntegerField(required=False, min_value=1, max_value=366, help_text="Every N days/weeks/months")
    weekdays = serializers.ListField(child=serializers.CharField(max_length=12), required=False, max_length=7,
                                     help_text="Weekly: MO, TU, WE, TH, FR, SA, SU (default: the first time's day)")
    month_day = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=31,
                                         help_text="Monthly: the day (29-31: the last day of a shorter month)")
    calendar = serializers.ChoiceField(choices=ScheduledMessage.Calendar.values, required=False,
                                       help_text="Whose months a monthly message follows (default CALENDAR)")
    until = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=20,
                                  help_text="The last day, inclusive (YYYY-MM-DD; a year below 1700 is Jalali)")
    count = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1000,
                                     help_text="Stop after this many occurrences")
    pin = serializers.BooleanField(required=False, help_text="Pin it; a later occurrence unpins the one before")
    urgent = serializers.BooleanField(required=False, help_text="Sent during quiet hours too")
    operator_chat_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=10**15,
        help_text="An admin's Telegram id: gets the preview now and each occurrence's progress")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience"].choices = [a.key for a in audiences.audiences()]


class PreviewSerializer(serializers.Serializer):
    chat_id = serializers.IntegerField(required=False, min_value=1, max_value=10**15,
                                       help_text="An admin's Telegram id; default the message's operator_chat_id")


@extend_schema(tags=["scheduled messages"])
class ScheduledMessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Scheduled messages: once or repeating, to an audience resolved when each occurrence is
    sent, at the message's clock time or at each customer's local time. Each shows its next
    occurrences and what was sent per occurrence (the latest 20 in the list, 100 in the detail)."""

    serializer_class = ScheduledMessageSerializer
    queryset = ScheduledMessage.objects.none()  # for the schema; the rows come from get_queryset
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.scheduled_list(status=self.request.query_params.get("status", ""))

    def get_permissions(self):
        needed = {"create": ("notifications.add_scheduledmessage", SCHEDULE),
                  "partial_update": ("notifications.change_scheduledmessage", SCHEDULE),
                  "cancel": ("notifications.view_scheduledmessage", SCHEDULE),
                  "preview": ("notifications.view_scheduledmessage", SCHEDULE)}.get(self.action)
        if needed:
            return [permission() for permission in staff_with(*needed)]
        return super().get_permissions()

    def get_serializer_context(self):
        detail = self.action != "list"
        return {**super().get_serializer_context(), "next": 10 if detail else 5, "sent": 100 if detail else 20}

    def _answer(self, message, code=status.HTTP_200_OK) -> Response:
        message.refresh_from_db()
        return Response(ScheduledMessageSerializer(message, context=self.get_serializer_context()).data, status=code)

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=ScheduledMessage.Status.values)])
    def list(self, request, *args, **kwargs):
        status_ = request.query_params.get("status", "")
        if status_ and status_ not in ScheduledMessage.Status.values:
            raise ValidationError({"status": [_("One of: %(values)s.") % {"values": ", ".join(ScheduledMessage.Status.values)}]})
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ScheduledWriteSerializer, responses={201: ScheduledMessageSerializer})
    def create(self, request):
        """Schedule a message; with operator_chat_id the preview goes there now."""
        data = ScheduledWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            message = services.scheduled_create(created_by=f"api:{request.user.get_username()}", **data.validated_data)
        except services.NotificationError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        if message.operator_chat_id:
            try:
                services.scheduled_preview(message_id=message.pk, chat_id=message.operator_chat_id)
            except services.NotificationError:
                pass  # scheduled all the same; the preview can be asked again
        return self._answer(message, status.HTTP_201_CREATED)

    @extend_schema(request=ScheduledWriteSerializer, responses=ScheduledMessageSerializer)
    def partial_update(self, request, pk=None):
        """Change what was sent, until the message starts (its first recipients get it)."""
        message = self.get_object()
        data = ScheduledWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            message = services.scheduled_update(message_id=message.pk, **data.validated_data)
        except services.NotificationError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return self._answer(message)

    @extend_schema(request=None, responses=ScheduledMessageSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """No more occurrences; one being sent stops (what was sent stays sent)."""
        message = self.get_object()
        try:
            message = services.scheduled_cancel(message_id=message.pk)
        except services.NotificationError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return self._answer(message)

    @extend_schema(request=PreviewSerializer, responses=inline_serializer(
        "ScheduledPreview", {"chat_id": serializers.IntegerField(), "message_id": serializers.IntegerField(allow_null=True)}))
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """Send the message now to an admin's chat, exactly as its recipients will see it."""
        message = self.get_object()
        data = PreviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chat_id = data.validated_data.get("chat_id") or message.operator_chat_id
        if not chat_id or not is_admin(chat_id):
            raise ValidationError({"chat_id": [_("The preview and the progress go to an admin's chat only.")]})
        try:
            message_id = services.scheduled_preview(message_id=message.pk, chat_id=chat_id)
        except services.NotificationError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response({"chat_id": chat_id, "message_id": message_id})
