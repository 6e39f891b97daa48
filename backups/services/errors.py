"""What goes wrong: the exceptions a backup operation raises (their message is for the admin
who asked), and the alert that tells the admins about a failure nobody asked to see."""

from __future__ import annotations

from vpnbot.transport import messages


class BackupError(Exception):
    """An operation could not run; the message is meant for the admin who asked."""


class BackupBusy(BackupError):
    """Another backup operation holds the lock."""


class BackupNotFound(BackupError):
    """No backup has the number a person typed."""


def backup_alert_admins(*, kind: str, text: str, dedup_key: str) -> None:
    """Tell the admins (failed or stale backups) through the message port, once per dedup_key."""
    messages.notify_admins(text, kind=kind, dedup_key=dedup_key)
