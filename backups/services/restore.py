"""Replacing the database with a backup (checksum, vendor and key checked first, a safety
backup taken, the catalogue kept), and importing a backup file made elsewhere."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

from django.core.management.color import no_style
from django.db import connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import container
from ..engines import EngineError
from ..models import Backup
from ..storage import get_storage
from .create import create_locked
from .errors import BackupError
from .files import check_decryptable, check_file, check_vendor, payload, sidecar_name
from .lock import backup_lock
from .records import Progress, backup_get, current_engine, elapsed_ms

log = logging.getLogger(__name__)


def backup_restore(*, backup_id: object, requested_by: str = "", progress: Progress = None,
                   safety_backup: bool = True) -> dict:
    """Replace the current database with a backup: the file's checksum and vendor are checked
    first (nothing is touched otherwise), a safety backup of the current database is taken,
    then the tool restores (PostgreSQL: one transaction). The backup catalogue itself is kept
    as it was before the restore (the files on disk do not change). Returns a report."""
    backup = backup_get(backup_id=backup_id)
    storage = get_storage()
    engine = current_engine()
    with backup_lock(holder=f"restore of #{backup.pk} for {requested_by or 'system'}", clear_all=True):
        header = check_file(backup, storage)
        check_vendor(header, engine.vendor)
        check_decryptable(backup, storage)
        started = time.monotonic()
        safety = None
        if safety_backup:
            if progress:
                progress("safety", 0)
            safety = create_locked(kind=Backup.Kind.SAFETY, requested_by=f"before restore of #{backup.pk}",
                                   schedule_key=None, checksums=False, progress=None, copy_to_telegram=False)
        catalogue = list(Backup.objects.all().values())
        if progress:
            progress("restore", 0)
        try:
            with storage.open_read(backup.file_name) as fh:
                engine.restore(payload(fh), workdir=storage.scratch_dir(), clean=True)
        except (EngineError, container.ContainerError) as exc:
            hint = _(" The safety backup is #%(id)s.") % {"id": safety.pk} if safety else ""
            raise BackupError(_("Restore of #%(id)s failed: %(error)s") % {"id": backup.pk, "error": exc} + hint) \
                from None
        finally:
            _catalogue_put_back(catalogue)
        duration = elapsed_ms(started)
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
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {f"{app}.{name}" for app, name in loader.disk_migrations}


def backup_import(*, path: str, requested_by: str = "cli") -> Backup:
    """Register a backup file from elsewhere (another server, the Telegram copy) so it can be
    verified and restored: the file and its `.json` sidecar are checked and copied into storage."""
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
        with open(sidecar_path, "rb") as src, storage.open_write(sidecar_name(name)) as dst:
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
