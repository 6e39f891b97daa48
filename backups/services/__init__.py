"""Backups: create, verify, restore, clean up, report. Every operation of the app lives in this
package; the bot, the admin, the API, the tasks and the management commands call it.

One operation runs at a time (`lock`). Files go through the pluggable storage (`storage.py`)
in the container format of `container.py`; the vendor work is in `engines/`. The modules, from
the bottom up: errors, lock, records, files, create, verify, restore, retention, status, queued.
"""

from ..models import OK_STATUSES
from .create import backup_create, backup_scheduled, schedule_key, telegram_part_size
from .errors import BackupBusy, BackupError, BackupNotFound, backup_alert_admins
from .lock import LOCK_NAME, backup_lock, lock_holder
from .queued import NOTES_MAX_CHARS, backup_note, backup_run_for_chat
from .records import SCHEDULED_KINDS, Progress, backup_get, backup_parse_id
from .restore import backup_import, backup_restore
from .retention import backup_cleanup, backup_cleanup_plan, plan_digest
from .status import SCHEDULE_NAMES, STALE_AFTER, backup_check_staleness, backup_status, stale_kinds
from .verify import backup_test, backup_verify, backup_verify_latest

__all__ = [
    "LOCK_NAME", "NOTES_MAX_CHARS", "OK_STATUSES", "SCHEDULED_KINDS", "SCHEDULE_NAMES", "STALE_AFTER",
    "BackupBusy", "BackupError", "BackupNotFound", "Progress",
    "backup_alert_admins", "backup_check_staleness", "backup_cleanup", "backup_cleanup_plan", "backup_create",
    "backup_get", "backup_import", "backup_lock", "backup_note", "backup_parse_id", "backup_restore",
    "backup_run_for_chat", "backup_scheduled", "backup_status", "backup_test", "backup_verify",
    "backup_verify_latest", "lock_holder", "plan_digest", "schedule_key", "stale_kinds", "telegram_part_size",
]
