"""Proving a backup restores: it is restored into a scratch database (or SQLite file) and its
per-table row counts, and checksums when recorded, are compared with what was dumped."""

from __future__ import annotations

import logging
import time
import uuid

from django.utils import timezone
from django.utils.translation import gettext as _

from .. import container
from ..engines import EngineError
from ..models import OK_STATUSES, Backup
from ..storage import get_storage
from .create import create_locked
from .errors import BackupBusy, BackupError, backup_alert_admins
from .files import check_file, check_vendor, payload
from .lock import backup_lock
from .records import Progress, backup_get, current_engine, elapsed_ms

log = logging.getLogger(__name__)


def backup_verify(*, backup_id: object, progress: Progress = None, requested_by: str = "") -> dict:
    """Restore the backup into a scratch database (or SQLite file), compare per-table row
    counts (and checksums when the backup recorded them) with what was dumped, and mark it
    verified. Returns the report; a mismatch leaves the status and alerts the admins."""
    backup = backup_get(backup_id=backup_id)
    with backup_lock(holder=f"verification of #{backup.pk} for {requested_by or 'system'}"):
        return verify_locked(backup, progress)


def _mismatches(expected: dict, got: dict) -> list[str]:
    mismatches = []
    for table in sorted(set(expected) | set(got)):
        want, have = expected.get(table), got.get(table)
        if want is None or have is None:
            mismatches.append(f"{table}: {'missing in the restore' if have is None else 'not in the metadata'}")
        elif want["rows"] != have["rows"]:
            mismatches.append(f"{table}: {have['rows']} rows restored, {want['rows']} dumped")
        elif want.get("checksum") and want["checksum"] != have.get("checksum"):
            mismatches.append(f"{table}: checksum differs")
    return mismatches


def verify_locked(backup: Backup, progress: Progress) -> dict:
    """backup_verify for a caller that holds the lock already (the test backup)."""
    storage = get_storage()
    engine = current_engine()
    started = time.monotonic()
    header = check_file(backup, storage)
    check_vendor(header, engine.vendor)
    if progress:
        progress("verify", 0)
    scratch = engine.create_scratch(uuid.uuid4().hex[:10])
    try:
        with storage.open_read(backup.file_name) as fh:
            try:
                scratch.restore(payload(fh), workdir=storage.scratch_dir(), clean=False)
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
    got = restored["tables"]
    mismatches = _mismatches(backup.metadata.get("tables", {}), got)
    report = {"ok": not mismatches, "tables": len(got), "rows": sum(t["rows"] for t in got.values()),
              "checksums": bool(backup.metadata.get("table_checksums")), "mismatches": mismatches[:50],
              "duration_ms": elapsed_ms(started), "at": timezone.now().isoformat()}
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
        backup = create_locked(kind=Backup.Kind.TEST, requested_by=requested_by, schedule_key=None,
                               checksums=True, progress=progress, copy_to_telegram=False)
        report = verify_locked(backup, progress)
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
