"""Retention: which backups go (grandfather-father-son for the scheduled kinds, an age limit
for the others, never the newest verified one), and deleting them with their files."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import OK_STATUSES, Backup
from ..storage import StorageError, get_storage
from .files import sidecar_name
from .lock import backup_lock
from .records import SCHEDULED_KINDS

log = logging.getLogger(__name__)


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
                    storage.delete(sidecar_name(backup.file_name))
                except (OSError, StorageError):
                    log.exception("could not delete the files of backup #%s", backup.pk)
                    continue
            pk = backup.pk
            backup.delete()
            deleted.append(pk)
    return deleted


def plan_digest(plan: list[Backup]) -> str:
    """A short fingerprint of a plan: the confirmation button deletes only what was shown."""
    return hashlib.sha256(",".join(str(b.pk) for b in plan).encode()).hexdigest()[:16]
