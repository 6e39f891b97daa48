"""Backup records and the one-at-a-time lock."""

from django.db import models


class Backup(models.Model):
    class Kind(models.TextChoices):
        DAILY = "daily", "daily"
        WEEKLY = "weekly", "weekly"
        MONTHLY = "monthly", "monthly"
        MANUAL = "manual", "manual"
        SAFETY = "safety", "safety (before a restore)"
        TEST = "test", "test"

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        VERIFIED = "verified", "verified"

    kind = models.CharField(max_length=10, choices=Kind.choices, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    # One scheduled run per period ("daily:2026-11-24"); cleared on failure so a retry may run.
    schedule_key = models.CharField(max_length=40, unique=True, null=True, blank=True)
    vendor = models.CharField(max_length=20, blank=True)
    server_version = models.CharField(max_length=100, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    checksum_sha256 = models.CharField(max_length=64, blank=True)
    compression = models.CharField(max_length=12, blank=True)
    encrypted = models.BooleanField(default=False)
    duration_ms = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    telegram_parts = models.PositiveIntegerField(default=0)
    telegram_error = models.TextField(blank=True)
    verification = models.JSONField(default=dict, blank=True)
    # What became of operations asked for on this backup from the admin site or the API, where
    # nobody waits in a chat: a verification or restore that could not run, newest first.
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

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

    name = models.CharField(max_length=40, primary_key=True)
    token = models.CharField(max_length=40)
    holder = models.CharField(max_length=200, blank=True)
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder}"
