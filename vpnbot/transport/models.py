from django.db import models


class TelegramUpdate(models.Model):
    """The update inbox: every update Telegram delivered, stored before it is processed."""

    class Status(models.TextChoices):
        RECEIVED = "received", "received"
        PROCESSING = "processing", "processing"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    update_id = models.BigIntegerField(unique=True)
    kind = models.CharField(max_length=40, blank=True, db_index=True)
    chat_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "received_at"])]
        ordering = ["-id"]

    def __str__(self):
        return f"update {self.update_id} ({self.kind}, {self.status})"


class ChatState(models.Model):
    """Where a user is in a multi-step dialog (top-up amount, a rejection reason, ...).

    Kept in the database so that every worker process sees the same state."""

    user_id = models.BigIntegerField(unique=True)
    name = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.user_id}: {self.name}"
