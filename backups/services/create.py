"""Making a backup: dump, compress, encrypt, checksum, store with its sidecar, then copy it
to the backup chat in Telegram; the scheduled runs make one backup per period."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.transport import messages

from .. import container
from ..engines import EngineError
from ..models import Backup
from ..storage import BackupStorage, StorageError, get_storage
from .errors import BackupBusy, BackupError, backup_alert_admins
from .files import file_name, sidecar_name, write_sidecar
from .lock import backup_lock
from .records import Progress, current_engine, elapsed_ms

log = logging.getLogger(__name__)


def _compression(self_compressing: bool) -> str:
    if not settings.BACKUP_COMPRESSION or self_compressing:
        return ""
    algorithm = (settings.BACKUP_COMPRESSION_ALGORITHM or "zstd").lower()
    if algorithm not in ("zstd", "gzip"):
        raise BackupError(f"BACKUP_COMPRESSION_ALGORITHM must be zstd or gzip, not {algorithm!r}")
    return algorithm


def backup_create(*, kind: str = Backup.Kind.MANUAL, requested_by: str = "", schedule_key: str | None = None,
                  checksums: bool = False, progress: Progress = None, copy_to_telegram: bool = True) -> Backup:
    """Dump the database into a new backup file. Raises BackupBusy when another operation
    runs, BackupError when the dump failed (the failed row is kept, with its error)."""
    if kind not in Backup.Kind.values:
        raise BackupError(f"unknown backup kind {kind!r}")
    with backup_lock(holder=f"{kind} backup for {requested_by or 'system'}"):
        return create_locked(kind=kind, requested_by=requested_by, schedule_key=schedule_key,
                             checksums=checksums, progress=progress, copy_to_telegram=copy_to_telegram)


def create_locked(*, kind: str, requested_by: str, schedule_key: str | None, checksums: bool,
                  progress: Progress, copy_to_telegram: bool) -> Backup:
    """backup_create for a caller that holds the lock already (a test backup, a safety backup)."""
    engine = current_engine()
    storage = get_storage()
    try:
        backup = Backup.objects.create(kind=kind, requested_by=requested_by[:100], schedule_key=schedule_key,
                                       vendor=engine.vendor)
    except IntegrityError:
        raise BackupError(_("This scheduled backup has already been made.")) from None
    started = time.monotonic()
    name = ""
    try:
        engine.check_tools()
        backup.server_version = engine.server_version()[:100]
        name = file_name(backup, engine.vendor)
        compression = _compression(engine.self_compressing)
        workdir = storage.scratch_dir()
        with storage.open_write(name) as fh:
            writer = container.Writer(fh, vendor=engine.vendor, compression=compression,
                                      encryption_key=settings.BACKUP_ENCRYPTION_KEY,
                                      extra={"backup_id": backup.pk, "kind": kind,
                                             "server_version": backup.server_version})
            stats = engine.dump(writer.write, workdir=workdir, compress=bool(settings.BACKUP_COMPRESSION),
                                checksums=checksums, progress=progress)
            checksum = writer.close()
        size = storage.size(name)
        backup.file_name = name
        backup.size_bytes = size
        backup.checksum_sha256 = checksum
        backup.compression = "pg_custom" if engine.self_compressing and settings.BACKUP_COMPRESSION else compression
        backup.encrypted = bool(settings.BACKUP_ENCRYPTION_KEY)
        backup.metadata = {
            "vendor": engine.vendor, "server_version": backup.server_version, "database": Path(engine.database).name,
            "migrations": stats["migrations"], "tables": stats["tables"], "raw_size": writer.raw_size,
            "table_checksums": checksums,
        }
        write_sidecar(storage, name, {
            "format": 1, "backup_id": backup.pk, "kind": kind, "created_at": backup.created_at.isoformat(),
            "size": size, "sha256": checksum, "compression": backup.compression, "encrypted": backup.encrypted,
            **backup.metadata,
        })
        backup.status = Backup.Status.SUCCEEDED
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and reported
        log.exception("backup #%s failed", backup.pk)
        if name:
            for leftover in (name, sidecar_name(name)):
                try:
                    storage.delete(leftover)
                except (OSError, StorageError):
                    pass
        backup.status = Backup.Status.FAILED
        backup.error = str(exc)[:4000] if isinstance(exc, (EngineError, BackupError, OSError)) \
            else f"{type(exc).__name__}: {exc}"[:4000]
        backup.file_name = ""
        backup.schedule_key = None
        backup.finished_at = timezone.now()
        backup.duration_ms = elapsed_ms(started)
        backup.save()
        backup_alert_admins(kind="backup_failed", dedup_key=f"backup-failed:{backup.pk}",
                            text=_("⚠️ Backup #%(id)s (%(kind)s) failed: %(error)s")
                            % {"id": backup.pk, "kind": kind, "error": backup.error[:500]})
        raise BackupError(_("Backup #%(id)s failed: %(error)s") % {"id": backup.pk, "error": backup.error}) from None
    backup.finished_at = timezone.now()
    backup.duration_ms = elapsed_ms(started)
    backup.save()
    if copy_to_telegram and settings.BACKUP_CHAT_ID:
        if progress:
            progress("upload", 0)
        _copy_to_telegram(backup, storage)
    return backup


# --- the copy to Telegram -------------------------------------------------------------------------------

class _PartReader:
    """A window [start, start+length) of a file, readable and seekable like a file, so the
    upload streams from disk without holding a part in memory."""

    def __init__(self, fh: BinaryIO, start: int, length: int):
        self.fh, self.start, self.length, self.pos = fh, start, length, 0

    def read(self, n: int = -1) -> bytes:
        left = self.length - self.pos
        if n is None or n < 0 or n > left:
            n = left
        if n <= 0:
            return b""
        self.fh.seek(self.start + self.pos)
        data = self.fh.read(n)
        self.pos += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.length}[whence]
        self.pos = max(0, min(self.length, base + offset))
        return self.pos

    def tell(self) -> int:
        return self.pos


def telegram_part_size() -> int:
    """The largest part the Bot API server takes (BACKUP_TELEGRAM_PART_BYTES overrides it)."""
    if settings.BACKUP_TELEGRAM_PART_BYTES:
        return int(settings.BACKUP_TELEGRAM_PART_BYTES)
    if "api.telegram.org" in settings.TELEGRAM_API_URL:
        return 49 * 1024 * 1024  # the cloud Bot API takes 50 MB per upload
    return 1999 * 1024 * 1024  # a local Bot API server takes 2000 MB


def _copy_to_telegram(backup: Backup, storage: BackupStorage) -> None:
    part = telegram_part_size()
    total = backup.size_bytes
    count = max(1, -(-total // part))
    sent = 0
    try:
        with storage.open_read(backup.file_name) as fh:
            for index in range(count):
                reader = _PartReader(fh, index * part, min(part, total - index * part))
                filename = backup.file_name if count == 1 else f"{backup.file_name}.part{index + 1:02d}of{count:02d}"
                caption = (f"Backup #{backup.pk} ({backup.kind}) {index + 1}/{count}\n"
                           f"sha256 {backup.checksum_sha256}")
                messages.send_document(settings.BACKUP_CHAT_ID, filename, reader, caption)
                sent += 1
        with storage.open_read(sidecar_name(backup.file_name)) as fh:
            messages.send_document(settings.BACKUP_CHAT_ID, sidecar_name(backup.file_name), fh,
                                   f"Backup #{backup.pk} metadata")
        backup.telegram_error = ""
    except (messages.TelegramError, OSError, StorageError) as exc:
        backup.telegram_error = str(exc)[:1000]
        backup_alert_admins(kind="backup_copy_failed", dedup_key=f"backup-copy-failed:{backup.pk}",
                            text=_("⚠️ Backup #%(id)s was made but its copy to Telegram failed: %(error)s")
                            % {"id": backup.pk, "error": backup.telegram_error[:300]})
    backup.telegram_parts = sent
    backup.save(update_fields=["telegram_parts", "telegram_error"])


# --- scheduled runs -------------------------------------------------------------------------------------

def schedule_key(kind: str, now=None) -> str:
    """The period a scheduled backup stands for ("daily:2026-11-24", "weekly:2026-W48", ...)."""
    local = timezone.localtime(now or timezone.now())
    if kind == Backup.Kind.DAILY:
        return f"daily:{local:%Y-%m-%d}"
    if kind == Backup.Kind.WEEKLY:
        year, week, _day = local.isocalendar()
        return f"weekly:{year}-W{week:02d}"
    if kind == Backup.Kind.MONTHLY:
        return f"monthly:{local:%Y-%m}"
    raise BackupError(f"{kind!r} is not a scheduled kind")


def backup_scheduled(*, kind: str, now=None) -> Backup | None:
    """A beat run: one backup of the kind per period (a second run of the task does nothing)."""
    key = schedule_key(kind, now)
    if Backup.objects.filter(schedule_key=key).exists():
        return None
    try:
        return backup_create(kind=kind, requested_by="schedule", schedule_key=key)
    except BackupBusy:
        raise
    except BackupError:
        if Backup.objects.filter(schedule_key=key).exists():
            return None
        raise
