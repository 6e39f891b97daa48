"""The notifications admin: the outbox and its delivery logs (resend, cancel), templates with a
preview, customers' settings, and broadcasts (start, pause, resume, cancel); calls services."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from vpnbot.core.admin_tools import confirm_action, interpolate, text_list

from .. import selectors, services, types
from ..models import Broadcast, Notification, NotificationLog, NotificationSettings, NotificationTemplate


class LogInline(admin.TabularInline):
    model = NotificationLog
    fields = ("created_at", "attempt", "status", "error", "telegram_message_id", "duration_ms")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "chat_id", "customer", "status", "scheduled_for", "attempts", "deferred_count",
                    "sent_at", "broadcast")
    list_filter = ("status", "type", "transactional", "urgent", "deferred_reason", "created_at")
    search_fields = ("=chat_id", "=customer__telegram_id", "customer__username", "dedup_key", "source")
    list_select_related = ("customer",)
    raw_id_fields = ("customer", "broadcast")
    readonly_fields = [f.name for f in Notification._meta.fields]
    inlines = [LogInline]
    actions = ("resend", "cancel")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request) -> bool:
        """Resend and cancel: their own permission (the rows themselves stay read-only)."""
        return request.user.is_active and request.user.has_perm("notifications.resend_notification")

    @admin.action(description=gettext_lazy("Send the selected failed or cancelled notifications again…"),
                  permissions=["operate"])
    def resend(self, request, queryset):
        def perform(rows, data):
            count = services.notification_resend(notification_ids=list(rows.values_list("pk", flat=True)))
            self.message_user(request, interpolate(ngettext("%(n)s notification queued again.",
                                                            "%(n)s notifications queued again.", count), n=count),
                              messages.SUCCESS)

        return confirm_action(self, request, queryset, action="resend", title=_("Send notifications again"),
                              question=_("Failed or cancelled notifications will be queued again (blocked customers "
                                         "are skipped)."),
                              confirm_label=_("Send again"), perform=perform)

    @admin.action(description=gettext_lazy("Cancel the selected pending notifications…"), permissions=["operate"])
    def cancel(self, request, queryset):
        def perform(rows, data):
            count = services.notification_cancel(notification_ids=list(rows.values_list("pk", flat=True)),
                                                 reason=f"cancelled by {request.user.get_username()}")
            self.message_user(request, interpolate(ngettext("%(n)s notification cancelled.",
                                                            "%(n)s notifications cancelled.", count), n=count),
                              messages.SUCCESS)

        return confirm_action(self, request, queryset, action="cancel", title=_("Cancel notifications"),
                              question=_("Pending notifications will not be sent."), confirm_label=_("Cancel them"),
                              perform=perform)


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    list_display = ("type", "language", "is_active", "updated_at")
    list_filter = ("type", "language", "is_active")
    readonly_fields = ("placeholders", "preview")
    fields = ("type", "language", "body", "is_active", "placeholders", "preview")
    actions = ("install_defaults",)

    @admin.display(description=gettext_lazy("allowed placeholders"))
    def placeholders(self, obj):
        if not obj or not obj.type:
            return "—"
        return ", ".join("{" + n + "}" for n in sorted(types.PLACEHOLDERS[obj.type] | types.COMMON_PLACEHOLDERS))

    @admin.display(description=gettext_lazy("preview (sample values)"))
    def preview(self, obj):
        if not obj or not obj.pk:
            return _("Save to see a preview.")
        try:
            text = services.template_preview(type=obj.type, body=obj.body, language=obj.language)
        except types.TemplateError as exc:
            return interpolate(_("Invalid: %(error)s"), error=exc)
        return format_html('<div style="white-space:normal;max-width:40em">{}</div>', linebreaks(text))

    @admin.action(description=gettext_lazy("Create missing templates from the shipped defaults"), permissions=["add"])
    def install_defaults(self, request, queryset):
        count = services.template_install_defaults()
        self.message_user(request, interpolate(ngettext("%(n)s template created.", "%(n)s templates created.", count),
                                               n=count), messages.SUCCESS)


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ("customer", "quiet_start", "quiet_end", "daily_limit", "min_interval_minutes", "updated_at")
    search_fields = ("=customer__telegram_id", "customer__username")
    raw_id_fields = ("customer",)


@admin.register(NotificationLog)
class NotificationLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "notification", "attempt", "status", "error", "telegram_message_id", "duration_ms")
    list_filter = ("status", "created_at")
    search_fields = ("=notification__id", "=notification__chat_id")
    readonly_fields = [f.name for f in NotificationLog._meta.fields]
    list_select_related = ("notification",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class BroadcastForm(forms.ModelForm):
    class Meta:
        model = Broadcast
        fields = ("text", "photo", "buttons", "audience", "paid")

    def clean(self):
        data = super().clean()
        try:
            data["buttons"] = services.broadcast_validate(
                text=data.get("text", ""), photo=data.get("photo", ""), buttons=data.get("buttons") or [],
                audience=data.get("audience", ""), paid=data.get("paid", False))
        except services.NotificationError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    form = BroadcastForm
    list_display = ("id", "created_at", "audience", "status", "total", "progress", "paid")
    list_filter = ("status", "audience", "paid")
    readonly_fields = ("status", "total", "progress", "created_by", "progress_chat_id", "progress_message_id",
                       "progress_at", "created_at", "started_at", "finished_at")
    fields = ("text", "photo", "buttons", "audience", "paid") + readonly_fields
    actions = ("start", "pause", "resume", "cancel")

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj):
        if not obj or not obj.started_at:
            return "—"
        p = selectors.broadcast_progress(broadcast=obj)
        return interpolate(_("sent %(sent)s, failed %(failed)s, blocked %(blocked)s, remaining %(remaining)s"),
                           sent=p.sent, failed=p.failed, blocked=p.blocked, remaining=p.remaining)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.status == Broadcast.Status.DRAFT)

    def has_send_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("notifications.send_broadcast")

    def _each(self, request, queryset, fn, done_message):
        """fn(broadcast_id=) for each broadcast; a refusal is a warning, then done_message(count)."""
        done = 0
        for b in queryset:
            try:
                fn(broadcast_id=b.pk)
                done += 1
            except services.NotificationError as exc:
                self.message_user(request, interpolate(_("Broadcast #%(id)s: %(error)s"), id=b.pk, error=exc),
                                  messages.WARNING)
        self.message_user(request, interpolate(done_message(done), n=done), messages.SUCCESS)

    @staticmethod
    def _recipients(broadcast) -> str:
        n = selectors.broadcast_audience_count(broadcast=broadcast)
        return interpolate(ngettext("#%(id)s: %(n)s recipient", "#%(id)s: %(n)s recipients", n), id=broadcast.pk, n=n)

    @admin.action(description=gettext_lazy("Start the selected draft broadcasts…"), permissions=["send"])
    def start(self, request, queryset):
        def perform(rows, data):
            def start(broadcast_id):
                services.broadcast_start(broadcast_id=broadcast_id)
                services.broadcast_run_later(broadcast_id)

            self._each(request, rows, start,
                       lambda n: ngettext("%(n)s broadcast started.", "%(n)s broadcasts started.", n))

        counts = text_list(self._recipients(b) for b in queryset)
        return confirm_action(self, request, queryset, action="start", title=_("Start broadcasts"),
                              question=interpolate(_("These broadcasts will be sent (%(counts)s)."), counts=counts),
                              confirm_label=_("Send"), perform=perform)

    @admin.action(description=gettext_lazy("Pause the selected broadcasts"), permissions=["send"])
    def pause(self, request, queryset):
        self._each(request, queryset, services.broadcast_pause,
                   lambda n: ngettext("%(n)s broadcast paused.", "%(n)s broadcasts paused.", n))

    @admin.action(description=gettext_lazy("Resume the selected broadcasts"), permissions=["send"])
    def resume(self, request, queryset):
        self._each(request, queryset, services.broadcast_resume,
                   lambda n: ngettext("%(n)s broadcast resumed.", "%(n)s broadcasts resumed.", n))

    @admin.action(description=gettext_lazy("Cancel the selected broadcasts…"), permissions=["send"])
    def cancel(self, request, queryset):
        def perform(rows, data):
            self._each(request, rows, services.broadcast_cancel,
                       lambda n: ngettext("%(n)s broadcast cancelled.", "%(n)s broadcasts cancelled.", n))

        return confirm_action(self, request, queryset, action="cancel", title=_("Cancel broadcasts"),
                              question=_("Messages not yet sent will not be sent."), confirm_label=_("Cancel them"),
                              perform=perform)
