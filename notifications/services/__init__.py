"""Notifications: every operation that writes (the outbox, delivery, per-customer settings,
scans, broadcasts, scheduled messages), one module a subject; callers use `from notifications
import services`.

Lower rooms first: errors, templates, preferences, planning, delivery, outbox, scans,
receivers, progress, broadcasts, then the scheduled messages: scheduled_recurrence (when),
scheduled_audience (to whom), scheduled (define, change, cancel, preview), scheduled_pins,
scheduled_run (the due job). Delivery knows nothing of broadcasts nor pins: progress and
scheduled_pins register hooks that delivery calls after each batch.
"""

from .broadcasts import (
    broadcast_cancel,
    broadcast_configure,
    broadcast_create,
    broadcast_pause,
    broadcast_resume,
    broadcast_run,
    broadcast_run_later,
    broadcast_set_progress_message,
    broadcast_start,
    broadcast_validate,
)
from .delivery import ProcessResult, notification_process, register_batch_hook
from .errors import NotificationError
from .outbox import (
    Outbox,
    notification_alert_admins,
    notification_cancel,
    notification_enqueue,
    notification_resend,
    notifications_cancel_for_customer,
)
from .preferences import (
    LIMIT_PRESETS,
    QUIET_PRESETS,
    Preferences,
    local_day_start,
    preferences_for,
    quiet_until,
    settings_get,
    settings_set_daily_limit,
    settings_set_quiet_hours,
    settings_set_types,
    settings_toggle_type,
)
from .progress import broadcast_progress_text, broadcast_refresh
from .receivers import on_bot_blocked, on_subscription_expired
from .scans import notification_scan_expiries, notification_scan_wallets
from .scheduled import FIELDS as SCHEDULED_FIELDS
from .scheduled import (
    Upcoming,
    scheduled_calendar,
    scheduled_cancel,
    scheduled_check,
    scheduled_clean_content,
    scheduled_create,
    scheduled_describe,
    scheduled_discard,
    scheduled_parse_day,
    scheduled_parse_time,
    scheduled_preview,
    scheduled_schedule,
    scheduled_upcoming,
    scheduled_update,
)
from .scheduled_pins import scheduled_pins_process
from .scheduled_run import RunResult, scheduled_messages_run
from .templates import notification_render, template_install_defaults, template_preview, template_render

__all__ = [
    "LIMIT_PRESETS", "NotificationError", "Outbox", "Preferences", "ProcessResult", "QUIET_PRESETS", "RunResult", "SCHEDULED_FIELDS",
    "Upcoming", "broadcast_cancel", "broadcast_configure", "broadcast_create", "broadcast_pause",
    "broadcast_progress_text", "broadcast_refresh", "broadcast_resume", "broadcast_run", "broadcast_run_later",
    "broadcast_set_progress_message", "broadcast_start", "broadcast_validate", "local_day_start",
    "notification_alert_admins", "notification_cancel", "notification_enqueue", "notification_process",
    "notification_render", "notification_resend", "notification_scan_expiries", "notification_scan_wallets",
    "notifications_cancel_for_customer", "on_bot_blocked", "on_subscription_expired", "preferences_for",
    "quiet_until", "register_batch_hook", "scheduled_calendar", "scheduled_cancel", "scheduled_check",
    "scheduled_clean_content", "scheduled_create", "scheduled_describe", "scheduled_discard",
    "scheduled_messages_run", "scheduled_parse_day", "scheduled_parse_time", "scheduled_pins_process",
    "scheduled_preview", "scheduled_schedule", "scheduled_upcoming", "scheduled_update", "settings_get",
    "settings_set_daily_limit", "settings_set_quiet_hours", "settings_set_types", "settings_toggle_type",
    "template_install_defaults", "template_preview", "template_render",
]
