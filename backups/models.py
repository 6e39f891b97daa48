"""Backup records and the one-at-a-time lock.

A `Backup` row per run (its file lives in storage, see storage.py); a `BackupLock` row while
an operation runs."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Backup(models.Model):
    class Kind(models.TextChoices):
        DAILY = "daily", _("daily")
        WEEKLY = "weekly", _("weekly")
        MONTHLY = "monthly", _("monthly")
        MANUAL = "manual", _("manual")
        SAFETY = "safety", _("safety (before a restore)")
        TEST = "test", _("test")

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        VERIFIED = "verified", _("verified")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING,
                              db_index=True)
    # One scheduled run per period ("daily:2026-11-24"); cleared on failure so a retry may run.
    schedule_key = models.CharField(_("scheduled period"), max_length=40, unique=True, null=True, blank=True)
    vendor = models.CharField(_("database type"), max_length=20, blank=True)
    server_version = models.CharField(_("database server version"), max_length=100, blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    checksum_sha256 = models.CharField(_("SHA-256 checksum"), max_length=64, blank=True)
    compression = models.CharField(_("compression"), max_length=12, blank=True)
    encrypted = models.BooleanField(_("encrypted"), default=False)
    duration_ms = models.PositiveBigIntegerField(_("duration (milliseconds)"), default=0)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.CharField(_("requested by"), max_length=100, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    telegram_parts = models.PositiveIntegerField(_("parts sent to Telegram"), default=0)
    telegram_error = models.TextField(_("Telegram copy error"), blank=True)
    verification = models.JSONField(_("verification report"), default=dict, blank=True)
    # What became of operations asked for on this backup from the admin site or the API, where
    # nobody waits in a chat: a verification or restore that could not run, newest first.
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("backup")
        permissions = [
            ("create_backup", _("Can make and verify backups")),
            ("restore_backup", _("Can restore a backup over the database")),
            ("download_backup", _("Can download backup files (the whole database)")),
        ]
        verbose_name_plural = _("backups")

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.status}"

    @property
    def is_usable(self) -> bool:
        return self.status in OK_STATUSES and bool(self.file_name)


# the statuses of a backup that was made (its file can be verified, restored, downloaded)
OK_STATUSES = (Backup.Status.SUCCEEDED, Backup.Status.VERIFIED)


class BackupLock(models.Model):
    """A row exists while a backup, restore or verification runs: the primary key makes a
    second INSERT fail on every database. A crashed holder's row expires."""

    name = models.CharField(_("name"), max_length=40, primary_key=True)
    token = models.CharField(_("token"), max_length=40)
    holder = models.CharField(_("held by"), max_length=200, blank=True)
    acquired_at = models.DateTimeField(_("taken at"))
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("backup lock")
        verbose_name_plural = _("backup locks")

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder}"
