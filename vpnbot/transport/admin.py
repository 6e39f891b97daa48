"""Admin pages of the transport: the update inbox (inspect, retry failed updates) and the
dialog states of users in a multi-step conversation."""

import json
from functools import partial

from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.core.admin_tools import interpolate

from . import services, tasks
from .models import ChatState, TelegramUpdate


@admin.register(TelegramUpdate)
class TelegramUpdateAdmin(admin.ModelAdmin):
    list_display = ("update_id", "kind", "user_id", "chat_id", "status", "attempts", "received_at", "finished_at")
    list_filter = ("status", "kind")
    search_fields = ("=update_id", "=user_id", "=chat_id")
    readonly_fields = ("update_id", "kind", "chat_id", "user_id", "pretty_payload", "status", "attempts",
                       "error", "received_at", "started_at", "finished_at")
    exclude = ("payload",)
    actions = ("retry",)

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("payload"))
    def pretty_payload(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, ensure_ascii=False, indent=2))

    @admin.action(description=gettext_lazy("Retry the selected failed updates"))
    def retry(self, request, queryset):
        ids = services.inbox_retry(inbox_ids=list(queryset.values_list("pk", flat=True)))
        transaction.on_commit(partial(tasks.queue_in_batches, ids))
        skipped = queryset.count() - len(ids)
        self.message_user(request, interpolate(_("%(n)s update(s) queued again."), n=len(ids)), messages.SUCCESS)
        if skipped:
            self.message_user(request, interpolate(_("%(n)s update(s) were not failed and were left alone."), n=skipped),
                              messages.WARNING)


@admin.register(ChatState)
class ChatStateAdmin(admin.ModelAdmin):
    list_display = ("user_id", "name", "expires_at", "updated_at")
    search_fields = ("=user_id", "name")
