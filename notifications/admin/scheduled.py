"""Scheduled messages in the admin: the list with each one's next time, a calendar of the
upcoming occurrences by day (Jalali for a Persian reader), the form (dates typed in either
calendar) for a message that has not started, its next occurrences and what was sent per
occurrence; cancel and preview actions. Every change goes through the services."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from vpnbot.core import dates
from vpnbot.core.admin_tools import confirm_action, interpolate
from vpnbot.shop import audiences
from vpnbot.transport.permissions import admin_chat_ids

from .. import selectors, services
from ..models import ScheduledMessage
from ..services.scheduled_recurrence import DAY_NAMES, WEEK_ORDER

SCHEDULE = "notifications.schedule_message"
CALENDAR_DAYS = 31
MAX_CSV_BYTES = 512 * 1024


def _calendar() -> str:
    """The reader's calendar: Jalali for a Persian admin page."""
    return dates.calendar_for(translation.get_language(), settings.CALENDAR)


def _snippet(text: str, n: int = 60) -> str:
    flat = " ".join((text or "").split())
    return flat[:n] + ("…" if len(flat) > n else "")


class ScheduledMessageForm(forms.ModelForm):
    """The model's fields, with the first time and the last day typed as text (Jalali when the
    year is below 1700) and weekdays as boxes; checked by the services."""

    starts_at = forms.CharField(label=gettext_lazy("first time"), max_length=40,
                                help_text=gettext_lazy("YYYY-MM-DD HH:MM on the time zone's clock; a year below 1700 is "
                                                       "Jalali (1405-01-01 10:00)"))
    until = forms.CharField(label=gettext_lazy("until"), max_length=20, required=False,
                            help_text=gettext_lazy("The last day, inclusive (YYYY-MM-DD; a year below 1700 is Jalali)"))
    weekdays = forms.TypedMultipleChoiceField(label=gettext_lazy("weekdays"), required=False, coerce=int,
                                              widget=forms.CheckboxSelectMultiple, choices=[])
    audience = forms.ChoiceField(label=gettext_lazy("audience"), choices=[])
    ids_file = forms.FileField(label=gettext_lazy("Telegram ids (a CSV file)"), required=False,
                               help_text=gettext_lazy("Sends to these customers: the audience becomes the list of "
                                                      "Telegram ids"))

    class Meta:
        model = ScheduledMessage
        fields = ("text", "media_type", "media", "buttons", "audience", "audience_params", "starts_at", "time_zone",
                  "local_time", "repeat", "interval", "weekdays", "month_day", "calendar", "rrule", "until", "count",
                  "pin", "urgent", "operator_chat_id")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        calendar = _calendar()
        self.fields["weekdays"].choices = [(d, DAY_NAMES[d]) for d in WEEK_ORDER[calendar]]
        self.fields["audience"].choices = [(a.key, a.label) for a in audiences.audiences()]
        message = self.instance
        if message.pk and message.starts_at:
            self.initial["starts_at"] = dates.instant_text(message.starts_at, message.time_zone, calendar)
        if message.pk and message.until:
            self.initial["until"] = dates.day_text(message.until, calendar)

    def clean(self):
        data = super().clean()
        values = {name: data.get(name) for name in services.SCHEDULED_FIELDS if name in data}
        if self.instance.pk:
            values = {name: value for name, value in values.items() if name in self.changed_data}
        upload = data.get("ids_file")
        if upload:
            if upload.size > MAX_CSV_BYTES:
                raise forms.ValidationError(_("The file is too large: %(kb)s KB at most.") % {"kb": MAX_CSV_BYTES // 1024})
            values.update(audience="telegram_ids",
                          audience_params={"ids": upload.read().decode("utf-8", "replace")})
        try:
            self.scheduled_values = values
            clean = services.scheduled_check(values=values, message_id=self.instance.pk)
        except services.NotificationError as exc:
            raise forms.ValidationError(str(exc)) from None
        data.update({name: clean[name] for name in values if name in clean})
        return data


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(admin.ModelAdmin):
    form = ScheduledMessageForm
    change_list_template = "admin/notifications/scheduledmessage/change_list.html"
    list_display = ("id", "message", "status", "next_time", "repeat_text", "audience_text", "options", "created_by")
    list_filter = ("status", "repeat", "local_time", "pin", "urgent")
    search_fields = ("text", "created_by")
    readonly_fields = ("status", "created_by", "created_at", "started_at", "finished_at", "upcoming", "history")
    actions = ("cancel", "preview")
    fieldsets = (
        (None, {"fields": ("text", "media_type", "media", "buttons")}),
        (gettext_lazy("To whom"), {"fields": ("audience", "audience_params", "ids_file")}),
        (gettext_lazy("When"), {"fields": ("starts_at", "time_zone", "local_time", "repeat", "interval", "weekdays",
                                           "month_day", "calendar", "rrule", "until", "count")}),
        (gettext_lazy("How"), {"fields": ("pin", "urgent", "operator_chat_id")}),
        (gettext_lazy("What happened"), {"fields": ("status", "created_by", "created_at", "started_at", "finished_at",
                                                    "upcoming", "history")}),
    )

    # -- who may do what: scheduling sends messages, and only what has not started can change --------------------
    def has_schedule_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm(SCHEDULE)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self.has_schedule_permission(request)

    def has_change_permission(self, request, obj=None):
        return (super().has_change_permission(request, obj) and self.has_schedule_permission(request)
                and (obj is None or obj.editable))

    def has_delete_permission(self, request, obj=None):
        live = (ScheduledMessage.Status.SCHEDULED, ScheduledMessage.Status.RUNNING)
        return super().has_delete_permission(request, obj) and (obj is None or obj.status not in live)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets[:-1]
        if not self.has_change_permission(request, obj):  # shown, not edited: no file to upload
            return [(name, {"fields": tuple(f for f in opts["fields"] if f != "ids_file")})
                    for name, opts in self.fieldsets]
        return self.fieldsets

    def save_model(self, request, obj, form, change):
        values = form.scheduled_values
        try:
            if change:
                message = services.scheduled_update(message_id=obj.pk, **values)
            else:
                message = services.scheduled_create(created_by=f"admin:{request.user.get_username()}", **values)
        except services.NotificationError as exc:  # changed meanwhile (it started): the form said it was fine
            self.message_user(request, str(exc), messages.ERROR)
            raise PermissionDenied(str(exc)) from None
        obj.pk = message.pk
        obj.refresh_from_db()

    # -- columns and read-only fields --------------------------------------------------------------------------------
    @admin.display(description=gettext_lazy("message"))
    def message(self, obj):
        return _snippet(obj.text) or (obj.get_media_type_display() or "—")

    @admin.display(description=gettext_lazy("next time"))
    def next_time(self, obj):
        upcoming = services.scheduled_upcoming(obj, limit=1) if obj.status != ScheduledMessage.Status.DRAFT else []
        if not upcoming:
            return "—"
        when = dates.wall_text(upcoming[0].wall, _calendar())
        return interpolate(_("%(when)s (each customer's own clock)"), when=when) if obj.local_time else when

    @admin.display(description=gettext_lazy("repeat"))
    def repeat_text(self, obj):
        return services.scheduled_describe(obj, calendar=_calendar())

    @admin.display(description=gettext_lazy("audience"))
    def audience_text(self, obj):
        return audiences.audience_describe(obj.audience, obj.audience_params)

    @admin.display(description=gettext_lazy("options"))
    def options(self, obj):
        marks = [(obj.local_time, _("local time")), (obj.pin, _("pinned")), (obj.urgent, _("urgent"))]
        return ", ".join(label for on, label in marks if on) or "—"

    @staticmethod
    def _stored(obj) -> ScheduledMessage | None:
        """The row as stored (a form sent back with errors leaves its typed text on obj)."""
        return ScheduledMessage.objects.filter(pk=obj.pk).first() if obj is not None and obj.pk else None

    @admin.display(description=gettext_lazy("next occurrences"))
    def upcoming(self, obj):
        obj = self._stored(obj)
        items = services.scheduled_upcoming(obj, limit=10) if obj else []
        if not items:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", (
            (dates.wall_text(u.wall, _calendar()),) for u in items)))

    @admin.display(description=gettext_lazy("sent per occurrence"))
    def history(self, obj):
        obj = self._stored(obj)
        reports = selectors.scheduled_occurrences(message=obj, limit=50) if obj else []
        if not reports:
            return "—"
        rows = []
        for r in reports:
            when = dates.wall_text(datetime.strptime(r.occurrence.wall, "%Y-%m-%dT%H:%M:%S"), _calendar())
            zones = ", ".join(f"{b.zone}: {b.get_status_display()} ({b.recipients})" for b in r.batches)
            rows.append((when, r.occurrence.get_status_display(), interpolate(
                _("%(recipients)s recipients: %(sent)s sent, %(failed)s failed, %(blocked)s blocked, %(pending)s "
                  "waiting"), recipients=r.occurrence.recipients, sent=r.sent, failed=r.failed, blocked=r.blocked,
                pending=r.pending), zones or "—", r.occurrence.note or ""))
        return format_html('<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>',
                           _("time"), _("status"), _("recipients"), _("time zones"), _("note"),
                           format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows))

    # -- the calendar -------------------------------------------------------------------------------------------------
    def get_urls(self):
        return [path("calendar/", self.admin_site.admin_view(self.calendar_view), name="notifications_scheduled_calendar"),
                *super().get_urls()]

    def calendar_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        calendar = _calendar()
        days = []
        for day, items in services.scheduled_calendar(days=CALENDAR_DAYS):
            weekday = DAY_NAMES[day.weekday()]
            days.append({"label": f"{weekday} {dates.day_text(day, calendar)}", "items": [{
                "time": f"{u.wall:%H:%M}", "local": u.message.local_time, "open": u.open, "id": u.message.pk,
                "url": reverse("admin:notifications_scheduledmessage_change", args=[u.message.pk]),
                "text": _snippet(u.message.text) or u.message.get_media_type_display(),
                "repeat": services.scheduled_describe(u.message, calendar=calendar),
                "audience": audiences.audience_describe(u.message.audience, u.message.audience_params),
                "pin": u.message.pin, "urgent": u.message.urgent} for u in items]})
        return TemplateResponse(request, "admin/notifications/scheduledmessage/calendar.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "days": days,
            "title": _("Upcoming scheduled messages"), "span": CALENDAR_DAYS, "zone": settings.TIME_ZONE})

    # -- actions ------------------------------------------------------------------------------------------------------
    @admin.action(description=gettext_lazy("Cancel the selected scheduled messages…"), permissions=["schedule"])
    def cancel(self, request, queryset):
        def perform(rows, data):
            done = 0
            for message in rows:
                try:
                    services.scheduled_cancel(message_id=message.pk)
                    done += 1
                except services.NotificationError as exc:
                    self.message_user(request, str(exc), messages.WARNING)
            self.message_user(request, interpolate(ngettext("%(n)s scheduled message cancelled.",
                                                            "%(n)s scheduled messages cancelled.", done), n=done),
                              messages.SUCCESS)

        return confirm_action(self, request, queryset, action="cancel", title=_("Cancel scheduled messages"),
                              question=_("Nothing more of them will be sent; what was sent stays."),
                              confirm_label=_("Cancel them"), perform=perform)

    @admin.action(description=gettext_lazy("Send a preview of the selected scheduled messages…"), permissions=["schedule"])
    def preview(self, request, queryset):
        chats = admin_chat_ids()

        class ChatForm(forms.Form):
            chat_id = forms.TypedChoiceField(label=_("to the admin"), coerce=int, choices=[(c, str(c)) for c in chats])

        def perform(rows, data):
            for message in rows:
                try:
                    services.scheduled_preview(message_id=message.pk, chat_id=data["chat_id"])
                except services.NotificationError as exc:
                    self.message_user(request, str(exc), messages.WARNING)
                    return
            self.message_user(request, interpolate(_("The preview was sent to %(chat)s."), chat=data["chat_id"]),
                              messages.SUCCESS)

        return confirm_action(self, request, queryset, action="preview", title=_("Send a preview"),
                              question=_("Each message goes now to the admin chosen, exactly as customers will see it."),
                              confirm_label=_("Send the preview"), form_class=ChatForm, perform=perform)
