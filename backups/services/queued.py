"""Long operations asked for in a chat, the admin site or the API, run by a Celery task: the
result edits the chat's progress message, or, with nobody waiting, is noted on the backup."""

from __future__ import annotations

import html
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import reporting
from ..models import Backup
from .create import backup_create
from .errors import BackupBusy, BackupError, backup_alert_admins
from .records import backup_get
from .restore import backup_restore
from .verify import backup_test, backup_verify

log = logging.getLogger(__name__)

NOTES_MAX_CHARS = 4000


def _request_label(operation: str, backup_id: int | None) -> str:
    labels = {
        "create": lambda: _("The manual backup"),
        "test": lambda: _("The test backup"),
        "verify": lambda: _("The verification of backup #%(id)s") % {"id": backup_id},
        "restore": lambda: _("The restore of backup #%(id)s") % {"id": backup_id},
    }
    return labels[operation]() if operation in labels else operation


def backup_note(*, backup_id: int | None, text: str) -> None:
    """Put a dated line at the top of a backup's notes (shown in the admin)."""
    if not backup_id:
        return
    with transaction.atomic():  # locked: two notes at once must not lose one
        backup = Backup.objects.select_for_update().filter(pk=backup_id).only("notes").first()
        if backup is None:
            return
        line = f"{timezone.localtime():%Y-%m-%d %H:%M} {text}"
        notes = (line + ("\n" + backup.notes if backup.notes else ""))[:NOTES_MAX_CHARS]
        Backup.objects.filter(pk=backup_id).update(notes=notes)


def _report_unattended_failure(*, operation: str, backup_id: int | None, requested_by: str,
                               error: BackupError) -> None:
    """Nobody waits in a chat for this result (admin site, API): note it on the backup and
    tell the admins. A failed backup has its own record and alert already."""
    if operation in ("create", "test") and not isinstance(error, BackupBusy):
        return
    params = {"what": _request_label(operation, backup_id), "who": requested_by or "system", "error": str(error)}
    if isinstance(error, BackupBusy):
        text = _("%(what)s (asked for by %(who)s) waited for another backup operation to finish and did not run; "
                 "nothing was changed. %(error)s") % params
    else:
        text = _("%(what)s (asked for by %(who)s) failed: %(error)s") % params
    backup_note(backup_id=backup_id, text=text)
    backup_alert_admins(kind="backup_request_failed", dedup_key=f"backup-request-failed:{uuid.uuid4().hex}",
                        text="⚠️ " + text)


def _run(operation: str, *, backup_id: int | None, requested_by: str, progress: reporting.ChatProgress) -> str:
    """Run the operation; the text that reports its result."""
    if operation == "create":
        return reporting.created_text(backup_create(kind=Backup.Kind.MANUAL, requested_by=requested_by,
                                                    progress=progress))
    if operation == "test":
        backup, report = backup_test(requested_by=requested_by, progress=progress)
        return reporting.verify_text(backup, report)
    if operation == "verify":
        report = backup_verify(backup_id=backup_id, requested_by=requested_by, progress=progress)
        return reporting.verify_text(backup_get(backup_id=backup_id), report)
    if operation == "restore":
        return reporting.restore_text(backup_restore(backup_id=backup_id, requested_by=requested_by,
                                                     progress=progress))
    raise BackupError(f"unknown operation {operation!r}")


def backup_run_for_chat(*, operation: str, chat_id: int | None, message_id: int | None, requested_by: str,
                        language: str = "", backup_id: int | None = None, retry_if_busy: bool = False) -> None:
    """Run create / test / restore / verify for a person in the bot: the progress message is
    edited in place and ends with the result (or the error). Without a chat (the admin site,
    the API) nobody would see the result: with `retry_if_busy` a busy lock raises BackupBusy
    so the task tries again later; an error, or the last try finding the lock busy, is noted
    on the backup and sent to the admins."""
    with translation.override(language or settings.LANGUAGE_CODE):
        progress = reporting.ChatProgress(chat_id, message_id)
        try:
            text = _run(operation, backup_id=backup_id, requested_by=requested_by, progress=progress)
        except BackupError as exc:
            if not chat_id:
                if retry_if_busy and isinstance(exc, BackupBusy):
                    log.info("%s for %s waits: %s", operation, requested_by, exc)
                    raise
                log.warning("%s of #%s for %s failed: %s", operation, backup_id, requested_by, exc)
                _report_unattended_failure(operation=operation, backup_id=backup_id, requested_by=requested_by,
                                           error=exc)
            text = "❌ " + html.escape(str(exc))
        progress.edit(text)
