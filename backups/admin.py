"""Backups in the admin: the list, a download link, and create / verify / restore behind a
confirmation page. The work itself is queued as Celery tasks."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from vpnbot.core.admin_tools import confirm_action, interpolate

from . import reporting, selectors, services, tasks
from .models import Backup
from .storage import StorageError, get_storage


def wait_notice() -> str:
    """What happens to a queued verification or restore, in the active language."""
    return interpolate(gettext("If another backup operation is running it waits for it (up to %(minutes)s minutes). "
                               "If it cannot run or fails, the reason is shown in the backup's notes and sent to the "
                               "admins in Telegram."), minutes=tasks.BUSY_RETRY_SECONDS * tasks.BUSY_MAX_RETRIES // 60)


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "size", "encrypted", "created_at", "duration_ms", "requested_by",
                    "last_note", "download")
    list_filter = ("kind", "status", "encrypted")
    actions = ["verify_action", "restore_action"]
    readonly_fields = [f.name for f in Backup._meta.fields]
    change_list_template = "admin/backups/backup/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    # A restore replaces the whole database and a file holds all of it (password hashes, API
    # tokens): each operation has its own permission; the view permission only shows the list.
    def has_operate_permission(self, request) -> bool:
        """Make and verify backups."""
        return request.user.is_active and request.user.has_perm("backups.create_backup")

    def has_restore_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("backups.restore_backup")

    def has_download_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("backups.download_backup")

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if self.has_download_permission(request) else [f for f in shown if f != "download"]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}),
                                                 "can_operate": self.has_operate_permission(request)})

    @admin.display(description=_("size"))
    def size(self, obj):
        return reporting.fmt_size(obj.size_bytes)

    @admin.display(description=_("notes"))
    def last_note(self, obj):
        """The newest note (a queued verification or restore that could not run); all on the record's page."""
        return obj.notes.split("\n", 1)[0][:200] if obj.notes else ""

    @admin.display(description=_("file"))
    def download(self, obj):
        if not obj.is_usable:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:backups_backup_download", args=[obj.pk]),
                           gettext("download"))

    def get_urls(self):
        return [
            path("<int:pk>/download/", self.admin_site.admin_view(self.download_view), name="backups_backup_download"),
            path("create/", self.admin_site.admin_view(self.create_view), name="backups_backup_create"),
            *super().get_urls(),
        ]

    def download_view(self, request, pk):
        if not self.has_download_permission(request):
            raise PermissionDenied
        backup = selectors.backup_usable(pk)
        if backup is None:
            raise Http404
        try:
            fh = get_storage().open_read(backup.file_name)
        except (OSError, StorageError):
            raise Http404 from None
        return FileResponse(fh, as_attachment=True, filename=backup.file_name)

    def _confirm(self, request, *, title, explanation, button):
        """The create page (not an action, so not vpnbot.core.admin_tools.confirm_action)."""
        return TemplateResponse(request, "admin/backups/confirm.html", {
            **self.admin_site.each_context(request), "title": title, "explanation": explanation, "button": button,
            "action": "", "backups": [], "opts": self.model._meta,
            "cancel_url": reverse("admin:backups_backup_changelist")})

    def create_view(self, request):
        if not self.has_operate_permission(request):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            if services.lock_holder():
                self.message_user(request, gettext("A backup operation is already running."), messages.WARNING)
            else:
                tasks.run_for_chat.delay("create", None, None, f"admin:{request.user.get_username()}")
                self.message_user(request, gettext("A manual backup was queued."))
            return HttpResponseRedirect(reverse("admin:backups_backup_changelist"))
        return self._confirm(request, title=gettext("Create a backup"), button=gettext("Create the backup"),
                             explanation=gettext("Dump the whole database now into a new backup file."))

    @admin.action(description=_("Verify the selected backups (restore into a scratch database)"),
                  permissions=["operate"])
    def verify_action(self, request, queryset):
        usable = [b for b in queryset if b.is_usable]

        def perform(rows, data):
            for backup in usable:
                tasks.run_for_chat.delay("verify", None, None, f"admin:{request.user.get_username()}", "", backup.pk)
            queued = interpolate(ngettext("%(n)s verification was queued.", "%(n)s verifications were queued.",
                                          len(usable)), n=len(usable))
            self.message_user(request, f"{queued} {wait_notice()}")

        return confirm_action(self, request, queryset.filter(pk__in=[b.pk for b in usable]), action="verify_action",
                              title=gettext("Verify backups"), confirm_label=gettext("Verify"), perform=perform,
                              question=gettext("Each backup is restored into a scratch database and its tables "
                                               "compared; the live database is not touched."))

    @admin.action(description=_("Restore the selected backup (replaces the database)"), permissions=["restore"])
    def restore_action(self, request, queryset):
        if queryset.count() != 1 or not queryset.first().is_usable:
            self.message_user(request, gettext("Select exactly one usable backup to restore."), messages.ERROR)
            return None
        backup = queryset.first()

        def perform(rows, data):
            tasks.run_for_chat.delay("restore", None, None, f"admin:{request.user.get_username()}", "", backup.pk)
            queued = interpolate(gettext("The restore of backup #%(id)s was queued."), id=backup.pk)
            self.message_user(request, f"{queued} {wait_notice()}", messages.WARNING)

        return confirm_action(self, request, queryset, action="restore_action",
                              title=interpolate(gettext("Restore backup #%(id)s?"), id=backup.pk),
                              confirm_label=gettext("Replace the database with this backup"), perform=perform,
                              question=gettext("The file's checksum is checked, a safety backup of the current "
                                               "database is taken, then the whole database is replaced by this "
                                               "backup. Everything since the backup is lost from the database (kept "
                                               "in the safety backup)."))
