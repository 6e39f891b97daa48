from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from . import types


class Broadcast(models.Model):
    """A message to many customers. Its recipients are Notification rows (type broadcast,
    unique per broadcast and customer), so a restart resumes without resending."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done"

    created_by = models.BigIntegerField(null=True, blank=True, help_text="Telegram id of the admin")
    text = models.TextField(blank=True)
    photo = models.CharField(max_length=255, blank=True, help_text="Telegram file_id or URL")
    buttons = models.JSONField(default=list, blank=True, help_text="rows of [label, url:https://… or callback data]")
    audience = models.CharField(max_length=64, default="all")
    paid = models.BooleanField(default=False, help_text="allow_paid_broadcast (up to 1000 messages/s, paid in Stars)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    total = models.PositiveIntegerField(default=0)
    progress_chat_id = models.BigIntegerField(null=True, blank=True)
    progress_message_id = models.BigIntegerField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"broadcast #{self.pk} ({self.status})"


class Notification(models.Model):
    """The outbox: one message to one chat, written in the transaction of its cause."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        BLOCKED = "blocked", "Blocked (recipient blocked the bot)"

    customer = models.ForeignKey("shop.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="notifications")
    chat_id = models.BigIntegerField()
    type = models.CharField(max_length=32, choices=types.CHOICES, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    dedup_key = models.CharField(max_length=191, unique=True)
    language = models.CharField(max_length=8, blank=True)
    text = models.TextField(blank=True, help_text="Empty: rendered from the template when sent")
    photo = models.CharField(max_length=255, blank=True)
    buttons = models.JSONField(default=list, blank=True)
    parse_mode = models.CharField(max_length=10, blank=True, default="HTML")
    context = models.JSONField(default=dict, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True, help_text="e.g. the subscription of an expiry reminder")
    urgent = models.BooleanField(default=False)
    transactional = models.BooleanField(default=False)
    priority = models.SmallIntegerField(default=0)
    source = models.CharField(max_length=64, blank=True)
    broadcast = models.ForeignKey(Broadcast, null=True, blank=True, on_delete=models.CASCADE, related_name="recipients")
    scheduled_for = models.DateTimeField(default=timezone.now, help_text="Not sent before this time")
    deferred_count = models.PositiveSmallIntegerField(default=0)
    deferred_reason = models.CharField(max_length=20, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    telegram_message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="notif_due"),
            models.Index(fields=["customer", "status", "sent_at"], name="notif_customer"),
            models.Index(fields=["broadcast", "status"], name="notif_broadcast"),
            models.Index(fields=["claim_token"], name="notif_claim"),
        ]

    def __str__(self):
        return f"{self.type} to {self.chat_id} ({self.status})"


class NotificationTemplate(models.Model):
    type = models.CharField(max_length=32, choices=types.CHOICES)
    language = models.CharField(max_length=8, choices=[("fa", "فارسی"), ("en", "English")])
    body = models.TextField(help_text="Placeholders in braces, e.g. {plan}; {{ and }} for literal braces. HTML allowed.")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["type", "language"]
        constraints = [models.UniqueConstraint(fields=["type", "language"], name="notif_template_type_language")]

    def __str__(self):
        return f"{self.type} ({self.language})"

    def save(self, *args, **kwargs):
        types.validate_template(self.type, self.body or "")
        super().save(*args, **kwargs)

    def clean(self):
        try:
            types.validate_template(self.type, self.body or "")
        except types.TemplateError as exc:
            raise ValidationError({"body": str(exc)}) from None


class NotificationSettings(models.Model):
    """A customer's choices; empty fields mean the shop's defaults (settings)."""

    customer = models.OneToOneField("shop.Customer", on_delete=models.CASCADE, related_name="notification_settings")
    disabled_types = models.JSONField(default=list, blank=True)
    quiet_start = models.TimeField(null=True, blank=True, help_text="In the customer's time zone; equal to end = off")
    quiet_end = models.TimeField(null=True, blank=True)
    daily_limit = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 = unlimited; empty = default")
    min_interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self):
        return f"settings of {self.customer_id}"


class NotificationLog(models.Model):
    """One delivery attempt."""

    class Result(models.TextChoices):
        SENT = "sent", "Sent"
        ERROR = "error", "Error"
        RETRY_LATER = "retry_later", "Rate limited"
        BLOCKED = "blocked", "Blocked"
        DEFERRED = "deferred", "Deferred"
        CANCELLED = "cancelled", "Cancelled"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="logs")
    attempt = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Result.choices)
    error = models.CharField(max_length=500, blank=True)
    telegram_message_id = models.BigIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.status} #{self.notification_id}"

