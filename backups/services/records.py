"""The backup catalogue as the operations see it: which statuses count as made, the scheduled
kinds, a backup found by the number a person typed, and the small shared helpers."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.db import connections
from django.utils.translation import gettext as _

from ..engines import Engine, engine_for
from ..models import Backup
from .errors import BackupNotFound

# progress(stage, bytes done): a stage of reporting.STAGES ("dump", "upload", "verify", ...)
Progress = Callable[[str, int], None] | None
ID_RE = re.compile(r"^#?(\d{1,12})$")
SCHEDULED_KINDS = (Backup.Kind.DAILY, Backup.Kind.WEEKLY, Backup.Kind.MONTHLY)


def backup_parse_id(text: object) -> int:
    """A backup id typed by a person ("12" or "#12"); anything else is refused."""
    match = ID_RE.match(str(text).strip()) if text is not None else None
    if not match or int(match.group(1)) == 0:
        raise BackupNotFound(_("A backup is named by its number, for example 12."))
    return int(match.group(1))


def backup_get(*, backup_id: object) -> Backup:
    """The backup a person named; BackupNotFound when the text is no number or no backup has it."""
    pk = backup_parse_id(backup_id)
    backup = Backup.objects.filter(pk=pk).first()
    if backup is None:
        raise BackupNotFound(_("There is no backup #%(id)s.") % {"id": pk})
    return backup


def current_engine() -> Engine:
    """The engine of the database this process runs on."""
    return engine_for(connections["default"])


def elapsed_ms(started: float) -> int:
    """Milliseconds since time.monotonic() gave `started`."""
    return int((time.monotonic() - started) * 1000)
