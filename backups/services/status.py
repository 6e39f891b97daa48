"""How the backups stand, for the admins: the newest success per kind, failures, sizes, free
disk, what runs now, and the scheduled kinds that are overdue (with the hourly alert)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import PeriodicTask

from ..models import OK_STATUSES, Backup
from ..schedules import SCHEDULES
from ..storage import StorageError, get_storage
from .errors import backup_alert_admins
from .lock import lock_holder
from .records import SCHEDULED_KINDS

# how old the newest success of a scheduled kind may be before it counts as stale
STALE_AFTER = {
    Backup.Kind.DAILY: timedelta(hours=26),
    Backup.Kind.WEEKLY: timedelta(days=7, hours=2),
    Backup.Kind.MONTHLY: timedelta(days=32),
}
# the beat entry that makes each scheduled kind ("backups: daily backup", ...)
SCHEDULE_NAMES = {job["kwargs"]["kind"]: job["name"] for job in SCHEDULES
                  if job["task"] == "backups.tasks.scheduled_backup"}


def backup_status(*, now=None) -> dict:
    """The status board (/backup_status, the API, manage.py backup_status)."""
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
