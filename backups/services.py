"""Backups: create, verify, restore, clean up, report. Every operation of the app lives here;
the bot, the admin, the API, the tasks and the management commands call these functions.

One operation runs at a time (`BackupLock`, a row whose primary key makes a second holder's
INSERT fail on every database). Files go through the pluggable storage (`storage.py`) in the
container format of `container.py`; the vendor work is in `engines.py`.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.management.color import no_style
from django.db import IntegrityError, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.transport import messages

from . import container
from .engines import EngineError, engine_for
from .models import Backup, BackupLock
from .storage import StorageError, get_storage

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None] | None
LOCK_NAME = "backups"
ID_RE = re.compile(r"^#?(\d{1,12})$")
OK_STATUSES = (Backup.Status.SUCCEEDED, Backup.Status.VERIFIED)
SCHEDULED_KINDS = (Backup.Kind.DAILY, Backup.Kind.WEEKLY, Backup.Kind.MONTHLY)
# how old the newest success of a scheduled kind may be before it counts as stale
STALE_AFTER = {
    Backup.Kind.DAILY: timedelta(hours=26),
    Backup.Kind.WEEKLY: timedelta(days=7, hours=2),
    Backup.Kind.MONTHLY: timedelta(days=32),
}
SCHEDULE_NAMES = {
    Backup.Kind.DAILY: "backups: daily backup",
    Backup.Kind.WEEKLY: "backups: weekly backup",
    Backup.Kind.MONTHLY: "backups: monthly backup",
}


class BackupError(Exception):
    """An operation could not run; the message is meant for the admin who asked."""


class BackupBusy(BackupError):
    pass


class BackupNotFound(BackupError):
    pass


# --- input validation ---------------------------------------------------------------------------

def backup_parse_id(text: object) -> int:
    """A backup id typed by a person ("12" or "#12"); anything else is refused."""
    match = ID_RE.match(str(text).strip()) if text is not None else None
    if not match or int(match.group(1)) == 0:
        raise BackupNotFound(_("A backup is named by its number, for example 12."))
    return int(match.group(1))


def backup_get(*, backup_id: object) -> Backup:
    pk = backup_parse_id(backup_id)
    backup = Backup.objects.filter(pk=pk).first()
    if backup is None:
        raise BackupNotFound(_("There is no backup #%(id)s.") % {"id": pk})
    return backup


# --- the lock ---------------------------------------------------------------------------------------

def lock_holder() -> BackupLock | None:
    return BackupLock.objects.filter(name=LOCK_NAME, expires_at__gt=timezone.now()).first()


def _lock_acquire(holder: str) -> str:
    token = uuid.uuid4().hex
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                BackupLock.objects.create(name=LOCK_NAME, token=token, holder=holder[:200], acquired_at=now,
                                          expires_at=now + timedelta(seconds=settings.BACKUP_LOCK_TIMEOUT))
            return token
        except IntegrityError:
            # a crashed holder's row: remove it only if it is still the expired one
            if not BackupLock.objects.filter(name=LOCK_NAME, expires_at__lte=now).delete()[0]:
                break
    current = BackupLock.objects.filter(name=LOCK_NAME).first()
    if current:
        since = timezone.localtime(current.acquired_at).strftime("%Y-%m-%d %H:%M")
        raise BackupBusy(_("Another backup operation is running (%(what)s, since %(since)s). Try again when it "
                           "has finished.") % {"what": current.holder, "since": since})
    raise BackupBusy(_("Another backup operation is running. Try again when it has finished."))


@contextmanager
def backup_lock(*, holder: str, clear_all: bool = False):
    """Hold the one backup lock. `clear_all` (after a restore, which rewrote the lock table
    with the dump's rows) removes every row on release."""
    token = _lock_acquire(holder)
    try:
        yield token
    finally:
        if clear_all:
            BackupLock.objects.all().delete()
        else:
            BackupLock.objects.filter(name=LOCK_NAME, token=token).delete()


# --- helpers -----------------------------------------------------------------------------------------

def _engine():
    return engine_for(connections["default"])


def _compression(self_compressing: bool) -> str:
    if not settings.BACKUP_COMPRESSION or self_compressing:
        return ""
    algorithm = (settings.BACKUP_COMPRESSION_ALGORITHM or "zstd").lower()
    if algorithm not in ("zstd", "gzip"):
        raise BackupError(f"BACKUP_COMPRESSION_ALGORITHM must be zstd or gzip, not {algorithm!r}")
    return algorithm


def _file_name(backup: Backup, vendor: str) -> str:
    stamp = backup.created_at.astimezone(UTC)
    return f"vpnbot-{backup.pk:06d}-{backup.kind}-{stamp:%Y%m%dT%H%M%SZ}.{vendor}.vbk"


def _sidecar_name(name: str) -> str:
    return name + ".json"


def _write_sidecar(storage, name: str, data: dict) -> None:
    with storage.open_write(_sidecar_name(name)) as fh:
        fh.write(json.dumps(data, indent=1, sort_keys=True, default=str).encode())


def _storage_sha256(storage, name: str) -> str:
    import hashlib

    sha = hashlib.sha256()
    with storage.open_read(name) as fh:
        while chunk := fh.read(container.CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def fmt_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


# --- admin alerts --------------------------------------------------------------------------------------

def backup_alert_admins(*, kind: str, text: str, dedup_key: str) -> None:
    """Tell the admins (failed or stale backups) through the message port, once per dedup_key."""
    messages.notify_admins(text, kind=kind, dedup_key=dedup_key)


# --- create ---------------------------------------------------------------------------------------------

def backup_create(*, kind: str = Backup.Kind.MANUAL, requested_by: str = "", schedule_key: str | None = None,
                  checksums: bool = False, progress: Progress = None, copy_to_telegram: bool = True) -> Backup:
    """Dump the database into a new backup file. Raises BackupBusy when another operation
    runs, BackupError when the dump failed (the failed row is kept, with its error)."""
    if kind not in Backup.Kind.values:
        raise BackupError(f"unknown backup kind {kind!r}")
    with backup_lock(holder=f"{kind} backup for {requested_by or 'system'}"):
        return _create_locked(kind=kind, requested_by=requested_by, schedule_key=schedule_key,
                              checksums=checksums, progress=progress, copy_to_telegram=copy_to_telegram)


def _create_locked(*, kind: str, requested_by: str, schedule_key: str | None, checksums: bool,
                   progress: Progress, copy_to_telegram: bool) -> Backup:
    engine = _engine()
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
        name = _file_name(backup, engine.vendor)
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
        _write_sidecar(storage, name, {
            "format": 1, "backup_id": backup.pk, "kind": kind, "created_at": backup.created_at.isoformat(),
            "size": size, "sha256": checksum, "compression": backup.compression, "encrypted": backup.encrypted,
            **backup.metadata,
        })
        backup.status = Backup.Status.SUCCEEDED
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and reported
        log.exception("backup #%s failed", backup.pk)
        if name:
            for leftover in (name, _sidecar_name(name)):
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
        backup.duration_ms = _elapsed_ms(started)
        backup.save()
        backup_alert_admins(kind="backup_failed", dedup_key=f"backup-failed:{backup.pk}",
                            text=_("⚠️ Backup #%(id)s (%(kind)s) failed: %(error)s")
                            % {"id": backup.pk, "kind": kind, "error": backup.error[:500]})
        raise BackupError(_("Backup #%(id)s failed: %(error)s") % {"id": backup.pk, "error": backup.error}) from None
    backup.finished_at = timezone.now()
    backup.duration_ms = _elapsed_ms(started)
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
    if settings.BACKUP_TELEGRAM_PART_BYTES:
        return int(settings.BACKUP_TELEGRAM_PART_BYTES)
    if "api.telegram.org" in settings.TELEGRAM_API_URL:
        return 49 * 1024 * 1024  # the cloud Bot API takes 50 MB per upload
    return 1999 * 1024 * 1024  # a local Bot API server takes 2000 MB


def _copy_to_telegram(backup: Backup, storage) -> None:
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
        with storage.open_read(_sidecar_name(backup.file_name)) as fh:
            messages.send_document(settings.BACKUP_CHAT_ID, _sidecar_name(backup.file_name), fh,
                                   f"Backup #{backup.pk} metadata")
        backup.telegram_error = ""
    except (messages.TelegramError, OSError, StorageError) as exc:
        backup.telegram_error = str(exc)[:1000]
        backup_alert_admins(kind="backup_copy_failed", dedup_key=f"backup-copy-failed:{backup.pk}",
                            text=_("⚠️ Backup #%(id)s was made but its copy to Telegram failed: %(error)s")
                            % {"id": backup.pk, "error": backup.telegram_error[:300]})
    backup.telegram_parts = sent
    backup.save(update_fields=["telegram_parts", "telegram_error"])


# --- reading a backup back -------------------------------------------------------------------------------

def _check_file(backup: Backup, storage) -> dict:
    """Checksum first, then the header: the file must be ours, intact, of this vendor."""
    if not backup.is_usable:
        raise BackupError(_("Backup #%(id)s has no usable file (status: %(status)s).")
                          % {"id": backup.pk, "status": backup.status})
    try:
        if not storage.exists(backup.file_name):
            raise BackupError(_("The file of backup #%(id)s is missing.") % {"id": backup.pk})
        actual = _storage_sha256(storage, backup.file_name)
    except StorageError as exc:
        raise BackupError(str(exc)) from None
    if actual != backup.checksum_sha256:
        raise BackupError(_("The file of backup #%(id)s fails its SHA-256 checksum (truncated or altered); "
                            "nothing was changed.") % {"id": backup.pk})
    with storage.open_read(backup.file_name) as fh:
        try:
            header, _raw = container.read_header(fh)
        except container.ContainerError as exc:
            raise BackupError(str(exc)) from None
    return header


def _check_vendor(header: dict, vendor: str) -> None:
    if header.get("vendor") != vendor:
        raise BackupError(_("This backup is from a %(theirs)s database and cannot be restored into %(ours)s; "
                            "nothing was changed.") % {"theirs": header.get("vendor"), "ours": vendor})
    if header.get("encryption") and not settings.BACKUP_ENCRYPTION_KEY:
        raise BackupError(_("This backup is encrypted: set BACKUP_ENCRYPTION_KEY to the key it was made with."))


def _payload(fh: BinaryIO):
    try:
        _header, chunks = container.iter_payload(fh, encryption_key=settings.BACKUP_ENCRYPTION_KEY)
    except container.ContainerError as exc:
        raise BackupError(str(exc)) from None
    return chunks


def _check_decryptable(backup: Backup, storage) -> None:
    """Decrypt the first chunk (a wrong key fails here, before anything is touched)."""
    with storage.open_read(backup.file_name) as fh:
        chunks = _payload(fh)
        try:
            next(iter(chunks), None)
        except container.ContainerError as exc:
            raise BackupError(str(exc)) from None


# --- verify ---------------------------------------------------------------------------------------------------

def backup_verify(*, backup_id: object, progress: Progress = None, requested_by: str = "") -> dict:
    """Restore the backup into a scratch database (or SQLite file), compare per-table row
    counts (and checksums when the backup recorded them) with what was dumped, and mark it
    verified. Returns the report; a mismatch leaves the status and alerts the admins."""
    backup = backup_get(backup_id=backup_id)
    with backup_lock(holder=f"verification of #{backup.pk} for {requested_by or 'system'}"):
        return _verify_locked(backup, progress)


def _verify_locked(backup: Backup, progress: Progress) -> dict:
    storage = get_storage()
    engine = _engine()
    started = time.monotonic()
    header = _check_file(backup, storage)
    _check_vendor(header, engine.vendor)
    if progress:
        progress("verify", 0)
    scratch = engine.create_scratch(uuid.uuid4().hex[:10])
    try:
        with storage.open_read(backup.file_name) as fh:
            try:
                scratch.restore(_payload(fh), workdir=storage.scratch_dir(), clean=False)
            except container.ContainerError as exc:
                raise BackupError(str(exc)) from None
        restored = scratch.inspect(checksums=bool(backup.metadata.get("table_checksums")))
    except EngineError as exc:
        raise BackupError(_("Verification of #%(id)s failed: %(error)s") % {"id": backup.pk, "error": exc}) from None
    finally:
        try:
            scratch.drop()
        except Exception:  # noqa: BLE001
            log.exception("could not drop the scratch database %s", scratch.database)
    expected = backup.metadata.get("tables", {})
    got = restored["tables"]
    mismatches = []
    for table in sorted(set(expected) | set(got)):
        want, have = expected.get(table), got.get(table)
        if want is None or have is None:
            mismatches.append(f"{table}: {'missing in the restore' if have is None else 'not in the metadata'}")
        elif want["rows"] != have["rows"]:
            mismatches.append(f"{table}: {have['rows']} rows restored, {want['rows']} dumped")
        elif want.get("checksum") and want["checksum"] != have.get("checksum"):
            mismatches.append(f"{table}: checksum differs")
    report = {"ok": not mismatches, "tables": len(got), "rows": sum(t["rows"] for t in got.values()),
              "checksums": bool(backup.metadata.get("table_checksums")), "mismatches": mismatches[:50],
              "duration_ms": _elapsed_ms(started), "at": timezone.now().isoformat()}
    backup.verification = report
    if report["ok"]:
        backup.status = Backup.Status.VERIFIED
        backup.verified_at = timezone.now()
        backup.save(update_fields=["verification", "status", "verified_at"])
    else:
        backup.save(update_fields=["verification"])
        backup_alert_admins(kind="backup_verify_failed", dedup_key=f"backup-verify-failed:{backup.pk}",
                            text=_("⚠️ Verification of backup #%(id)s found differences: %(diff)s")
                            % {"id": backup.pk, "diff": "; ".join(mismatches[:5])})
    return report


def backup_test(*, requested_by: str = "", progress: Progress = None) -> tuple[Backup, dict]:
    """/test_backup: a fresh backup with per-table checksums, verified at once. Both under one
    hold of the lock, so no other operation can run between the dump and its verification."""
    with backup_lock(holder=f"test backup for {requested_by or 'system'}"):
        backup = _create_locked(kind=Backup.Kind.TEST, requested_by=requested_by, schedule_key=None,
                                checksums=True, progress=progress, copy_to_telegram=False)
        report = _verify_locked(backup, progress)
    backup.refresh_from_db()
    return backup, report


def backup_verify_latest() -> dict | None:
    """The weekly job: verify the newest successful backup (if not verified yet)."""
    backup = Backup.objects.filter(status__in=OK_STATUSES).exclude(kind=Backup.Kind.TEST).first()
    if backup is None or backup.status == Backup.Status.VERIFIED:
        return None
    try:
        return backup_verify(backup_id=backup.pk, requested_by="schedule")
    except BackupBusy:
        raise
    except BackupError as exc:
        backup_alert_admins(kind="backup_verify_failed", dedup_key=f"backup-verify-failed:{backup.pk}",
                            text=_("⚠️ Verification of backup #%(id)s failed: %(error)s")
                            % {"id": backup.pk, "error": str(exc)[:500]})
        raise


# --- restore --------------------------------------------------------------------------------------------------

def backup_restore(*, backup_id: object, requested_by: str = "", progress: Progress = None,
                   safety_backup: bool = True) -> dict:
    """Replace the current database with a backup: the file's checksum and vendor are checked
    first (nothing is touched otherwise), a safety backup of the current database is taken,
    then the tool restores (PostgreSQL: one transaction). The backup catalogue itself is kept
    as it was before the restore (the files on disk do not change). Returns a report."""
    backup = backup_get(backup_id=backup_id)
    storage = get_storage()
    engine = _engine()
    with backup_lock(holder=f"restore of #{backup.pk} for {requested_by or 'system'}", clear_all=True):
        header = _check_file(backup, storage)
        _check_vendor(header, engine.vendor)
        _check_decryptable(backup, storage)
        started = time.monotonic()
        safety = None
        if safety_backup:
            if progress:
                progress("safety", 0)
            safety = _create_locked(kind=Backup.Kind.SAFETY, requested_by=f"before restore of #{backup.pk}",
                                    schedule_key=None, checksums=False, progress=None, copy_to_telegram=False)
        catalogue = list(Backup.objects.all().values())
        if progress:
            progress("restore", 0)
        try:
            with storage.open_read(backup.file_name) as fh:
                engine.restore(_payload(fh), workdir=storage.scratch_dir(), clean=True)
        except (EngineError, container.ContainerError) as exc:
            hint = _(" The safety backup is #%(id)s.") % {"id": safety.pk} if safety else ""
            raise BackupError(_("Restore of #%(id)s failed: %(error)s") % {"id": backup.pk, "error": exc} + hint) \
                from None
        finally:
            _catalogue_put_back(catalogue)
        duration = _elapsed_ms(started)
    stats = engine.inspect(checksums=False)
    code_migrations = _code_migrations()
    restored_migrations = set(stats["migrations"])
    report = {
        "backup_id": backup.pk, "safety_backup_id": safety.pk if safety else None, "duration_ms": duration,
        "tables": {name: t["rows"] for name, t in stats["tables"].items()},
        "rows": sum(t["rows"] for t in stats["tables"].values()),
        "missing_migrations": sorted(code_migrations - restored_migrations)[:50],
    }
    log.warning("database restored from backup #%s by %s in %s ms", backup.pk, requested_by, duration)
    return report


def _catalogue_put_back(rows: list[dict]) -> None:
    """After a restore the backups table holds the dump's rows: put back what was there."""
    try:
        with transaction.atomic():
            ids = [row["id"] for row in rows]
            Backup.objects.exclude(pk__in=ids).delete()
            for row in rows:
                pk = row.pop("id")
                Backup.objects.update_or_create(pk=pk, defaults=row)
        connection = connections["default"]
        sql = connection.ops.sequence_reset_sql(no_style(), [Backup])
        if sql:
            with connection.cursor() as cursor:
                for statement in sql:
                    cursor.execute(statement)
    except Exception:  # noqa: BLE001 - the restore matters more than the catalogue
        log.exception("could not put the backup catalogue back after a restore")


def _code_migrations() -> set[str]:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {f"{app}.{name}" for app, name in loader.disk_migrations}


# --- retention ----------------------------------------------------------------------------------------------------

def backup_cleanup_plan(*, now=None) -> list[Backup]:
    """What cleanup would delete: scheduled kinds beyond their keep count (grandfather-father-
    son: BACKUP_KEEP_DAILY / WEEKLY / MONTHLY newest of each), manual, safety and test backups
    and failed records older than BACKUP_RETENTION_DAYS. Never the newest verified backup."""
    now = now or timezone.now()
    doomed: dict[int, Backup] = {}
    keep = {Backup.Kind.DAILY: settings.BACKUP_KEEP_DAILY, Backup.Kind.WEEKLY: settings.BACKUP_KEEP_WEEKLY,
            Backup.Kind.MONTHLY: settings.BACKUP_KEEP_MONTHLY}
    for kind, count in keep.items():
        rows = Backup.objects.filter(kind=kind, status__in=OK_STATUSES).order_by("-created_at", "-id")
        for backup in rows[max(count, 0):]:
            doomed[backup.pk] = backup
    cutoff = now - timedelta(days=settings.BACKUP_RETENTION_DAYS)
    old = Backup.objects.filter(created_at__lt=cutoff).exclude(status=Backup.Status.RUNNING)
    for backup in old.exclude(kind__in=SCHEDULED_KINDS):
        doomed[backup.pk] = backup
    for backup in old.filter(status=Backup.Status.FAILED):
        doomed[backup.pk] = backup
    newest_verified = Backup.objects.filter(status=Backup.Status.VERIFIED).order_by("-created_at", "-id").first()
    if newest_verified:
        doomed.pop(newest_verified.pk, None)
    return sorted(doomed.values(), key=lambda b: (b.created_at, b.pk))


def backup_cleanup(*, now=None, only_ids: set[int] | None = None, requested_by: str = "") -> list[int]:
    """Delete what the plan names (restricted to `only_ids` when given: what a person saw
    and confirmed). Returns the deleted ids."""
    storage = get_storage()
    deleted = []
    with backup_lock(holder=f"cleanup for {requested_by or 'system'}"):
        for backup in backup_cleanup_plan(now=now):
            if only_ids is not None and backup.pk not in only_ids:
                continue
            if backup.file_name:
                try:
                    storage.delete(backup.file_name)
                    storage.delete(_sidecar_name(backup.file_name))
                except (OSError, StorageError):
                    log.exception("could not delete the files of backup #%s", backup.pk)
                    continue
            pk = backup.pk
            backup.delete()
            deleted.append(pk)
    return deleted


def plan_digest(plan: list[Backup]) -> str:
    import hashlib

    return hashlib.sha256(",".join(str(b.pk) for b in plan).encode()).hexdigest()[:16]


# --- status ------------------------------------------------------------------------------------------------------------

def backup_status(*, now=None) -> dict:
    from django.db.models import Count, Sum

    now = now or timezone.now()
    last = {}
    for kind in (*SCHEDULED_KINDS, Backup.Kind.MANUAL):
        last[kind] = Backup.objects.filter(kind=kind, status__in=OK_STATUSES).order_by("-created_at", "-id").first()
    stored = Backup.objects.filter(status__in=OK_STATUSES).aggregate(total=Sum("size_bytes"), count=Count("id"))
    failures = Backup.objects.filter(status=Backup.Status.FAILED, created_at__gte=now - timedelta(days=30)).count()
    try:
        free = get_storage().free_bytes()
    except (OSError, StorageError):
        free = None
    return {
        "last": last, "failures_30d": failures, "total_size": stored["total"] or 0, "count": stored["count"],
        "free_bytes": free, "stale": stale_kinds(now=now), "running": lock_holder(),
        "last_verified": Backup.objects.filter(status=Backup.Status.VERIFIED).order_by("-created_at").first(),
    }


def _schedule_enabled(kind: str) -> tuple[bool, object]:
    try:
        from django_celery_beat.models import PeriodicTask
    except ImportError:
        return True, None
    task = PeriodicTask.objects.filter(name=SCHEDULE_NAMES[kind]).first()
    if task is None:
        return False, None
    return task.enabled, task.date_changed


def stale_kinds(*, now=None) -> list[dict]:
    """Scheduled kinds whose newest success is older than their schedule allows."""
    now = now or timezone.now()
    stale = []
    for kind in SCHEDULED_KINDS:
        enabled, since = _schedule_enabled(kind)
        if not enabled:
            continue
        newest = Backup.objects.filter(kind=kind, status__in=OK_STATUSES).order_by("-created_at").first()
        limit = STALE_AFTER[kind]
        if newest is not None and now - newest.created_at > limit:
            stale.append({"kind": kind, "last": newest.created_at})
        elif newest is None and since is not None and now - since > limit:
            stale.append({"kind": kind, "last": None})
    return stale


def backup_check_staleness(*, now=None) -> list[dict]:
    """The hourly job: alert the admins about stale scheduled backups (once a day per kind)."""
    now = now or timezone.now()
    stale = stale_kinds(now=now)
    for item in stale:
        when = timezone.localtime(item["last"]).strftime("%Y-%m-%d %H:%M") if item["last"] else _("never")
        backup_alert_admins(kind="backup_stale", dedup_key=f"backup-stale:{item['kind']}:{now:%Y-%m-%d}",
                            text=_("⚠️ The %(kind)s backup is overdue: the last one succeeded %(when)s.")
                            % {"kind": item["kind"], "when": when})
    return stale


# --- scheduled runs -------------------------------------------------------------------------------------------------------

def schedule_key(kind: str, now=None) -> str:
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


# --- long operations asked for in a chat, the admin site or the API ----------------------------------------

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


def backup_run_for_chat(*, operation: str, chat_id: int | None, message_id: int | None, requested_by: str,
                        language: str = "", backup_id: int | None = None, retry_if_busy: bool = False) -> None:
    """Run create / test / restore / verify for a person in the bot: the progress message is
    edited in place and ends with the result (or the error). Without a chat (the admin site,
    the API) nobody would see the result: with `retry_if_busy` a busy lock raises BackupBusy
    so the task tries again later; an error, or the last try finding the lock busy, is noted
    on the backup and sent to the admins."""
    import html

    from django.utils import translation

    from . import reporting

    with translation.override(language or settings.LANGUAGE_CODE):
        progress = reporting.ChatProgress(chat_id, message_id)
        try:
            if operation == "create":
                text = reporting.created_text(backup_create(kind=Backup.Kind.MANUAL, requested_by=requested_by,
                                                            progress=progress))
            elif operation == "test":
                backup, report = backup_test(requested_by=requested_by, progress=progress)
                text = reporting.verify_text(backup, report)
            elif operation == "verify":
                report = backup_verify(backup_id=backup_id, requested_by=requested_by, progress=progress)
                text = reporting.verify_text(backup_get(backup_id=backup_id), report)
            elif operation == "restore":
                text = reporting.restore_text(backup_restore(backup_id=backup_id, requested_by=requested_by,
                                                             progress=progress))
            else:
                raise BackupError(f"unknown operation {operation!r}")
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


def backup_import(*, path: str, requested_by: str = "cli") -> Backup:
    """Register a backup file from elsewhere (another server, the Telegram copy) so it can be
    verified and restored: the file and its `.json` sidecar are checked and copied into storage."""
    import shutil

    source = Path(path)
    sidecar_path = source.with_name(source.name + ".json")
    if not source.is_file() or not sidecar_path.is_file():
        raise BackupError(f"need the file and its sidecar: {source} and {sidecar_path}")
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except ValueError:
        raise BackupError("the sidecar is not valid JSON") from None
    if not isinstance(sidecar, dict) or container.file_sha256(source) != sidecar.get("sha256"):
        raise BackupError("the file does not match the SHA-256 in its sidecar (truncated or altered)")
    with open(source, "rb") as fh:
        try:
            header, _raw = container.read_header(fh)
        except container.ContainerError as exc:
            raise BackupError(str(exc)) from None
    storage = get_storage()
    with backup_lock(holder=f"import for {requested_by}"):
        backup = Backup.objects.create(
            kind=Backup.Kind.MANUAL, status=Backup.Status.RUNNING, requested_by=f"import by {requested_by}"[:100],
            vendor=str(header.get("vendor", "")), server_version=str(sidecar.get("server_version", ""))[:100])
        name = f"vpnbot-{backup.pk:06d}-imported.{backup.vendor}.vbk"
        with open(source, "rb") as src, storage.open_write(name) as dst:
            shutil.copyfileobj(src, dst, container.CHUNK)
        with open(sidecar_path, "rb") as src, storage.open_write(_sidecar_name(name)) as dst:
            shutil.copyfileobj(src, dst)
        backup.file_name = name
        backup.size_bytes = storage.size(name)
        backup.checksum_sha256 = sidecar["sha256"]
        backup.compression = str(sidecar.get("compression", ""))[:12]
        backup.encrypted = bool(header.get("encryption"))
        backup.metadata = {k: sidecar.get(k) for k in ("vendor", "server_version", "database", "migrations",
                                                       "tables", "raw_size", "table_checksums")}
        backup.status = Backup.Status.SUCCEEDED
        backup.finished_at = timezone.now()
        backup.save()
    return backup
