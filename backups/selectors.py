"""Read-only queries about backups for the bot, the admin, the API and the management
commands (the lists and lookups they show); nothing here changes a row."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import OK_STATUSES, Backup


def backups_newest() -> QuerySet[Backup]:
    """Every backup, newest first."""
    return Backup.objects.order_by("-created_at", "-id")


def backups_page(page: int, *, per_page: int) -> tuple[list[Backup], int, int, int]:
    """One page of backups, newest first: (rows, page, pages, total); the page number is
    brought into range (at least one page, even when there are no backups)."""
    total = Backup.objects.count()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = list(backups_newest()[(page - 1) * per_page:page * per_page])
    return rows, page, pages, total


def backup_newest_made() -> Backup | None:
    """The newest backup that was made (succeeded or verified), of any kind."""
    return Backup.objects.filter(status__in=OK_STATUSES).first()


def backup_usable(pk: int) -> Backup | None:
    """The backup with this id if it has a file to verify, restore or download, else None."""
    backup = Backup.objects.filter(pk=pk).first()
    return backup if backup is not None and backup.is_usable else None
