"""The outbox's tables: one row a message to a chat, its delivery log, templates per type and
language, each customer's settings, and broadcasts."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vpnbot.core import bounds

from .. import types

MEDIA_CHOICES = [("photo", _("Photo")), ("video", _("Video")), ("document", _("Document"))]


class Broadcast(models.Model):
    """A message to many customers. Its recipients are Notification rows (type broadcast,
    unique per broadcast and customer), so a restart resumes without resending."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Done")

    created_by = models.BigIntegerField(_("created by"), null=True, blank=True, help_text=_("Telegram id of the admin"))
    text = models.TextField(_("text"), blank=True)
    photo = models.CharField(_("photo"), max_length=255, blank=True, help_text=_("Telegram file_id or URL"))
    buttons = models.JSONField(_("buttons"), default=list, blank=True,
                               help_text=_("rows of [label, url:https://… or callback data]"))
    audience = models.CharField(_("audience"), max_length=64, default="all")
    paid = models.BooleanField(_("paid broadcast"), default=False,
                               help_text=_("allow_paid_broadcast (up to 1000 messages/s, paid in Stars)"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    total = models.PositiveIntegerField(_("recipients"), default=0)
    progress_chat_id = models.BigIntegerField(_("progress message chat"), null=True, blank=True)
    progress_message_id = models.BigIntegerField(_("progress message"), null=True, blank=True)
    progress_at = models.DateTimeField(_("progress shown at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("broadcast")
        permissions = [("send_broadcast", _("Can start, pause, resume and cancel broadcasts"))]
        verbose_name_plural = _("broadcasts")

    def __str__(self):
        return f"broadcast #{self.pk} ({self.status})"


class Notification(models.Model):
    """The outbox: one message to one chat, written in the transaction of its cause."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        BLOCKED = "blocked", _("Blocked (recipient blocked the bot)")

    customer = models.ForeignKey("shop.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="notifications", verbose_name=_("customer"))
    chat_id = models.BigIntegerField(_("chat"))
    type = models.CharField(_("type"), max_length=32, choices=types.CHOICES, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    dedup_key = models.CharField(_("duplicate check key"), max_length=191, unique=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    text = models.TextField(_("text"), blank=True, help_text=_("Empty: rendered from the template when sent"))
    photo = models.CharField(_("photo"), max_length=255, blank=True,
                             help_text=_("The attached file (a Telegram file_id or URL): a photo unless the media type says otherwise"))
    # a default in the database too: the expiry scan writes its rows with INSERT … SELECT
    media_type = models.CharField(_("media type"), max_length=10, blank=True, choices=MEDIA_CHOICES, default="", db_default="",
                                  help_text=_("Empty: a photo when a file is attached"))
    buttons = models.JSONField(_("buttons"), default=list, blank=True)
    parse_mode = models.CharField(_("text format"), max_length=10, blank=True, default="HTML")
    context = models.JSONField(_("template values"), default=dict, blank=True)
    object_id = models.BigIntegerField(_("related record"), null=True, blank=True,
                                       help_text=_("e.g. the subscription of an expiry reminder"))
    urgent = models.BooleanField(_("urgent"), default=False)
    transactional = models.BooleanField(_("transactional"), default=False)
    priority = models.SmallIntegerField(_("priority"), default=0)
    source = models.CharField(_("source"), max_length=64, blank=True)
    broadcast = models.ForeignKey(Broadcast, null=True, blank=True, on_delete=models.CASCADE, related_name="recipients",
                                  verbose_name=_("broadcast"))
    scheduled_for = models.DateTimeField(_("send from"), default=timezone.now, help_text=_("Not sent before this time"))
    deferred_count = models.PositiveSmallIntegerField(_("times deferred"), default=0)
    deferred_reason = models.CharField(_("deferred because"), max_length=20, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_until = models.DateTimeField(_("taken by a worker until"), null=True, blank=True)
    claim_token = models.CharField(_("worker's claim"), max_length=32, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    telegram_message_id = models.BigIntegerField(_("Telegram message id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("notification")
        permissions = [("resend_notification", _("Can send notifications again or cancel them"))]
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="notif_due"),
            models.Index(fields=["customer", "status", "sent_at"], name="notif_customer"),
            models.Index(fields=["broadcast", "status"], name="notif_broadcast"),
            models.Index(fields=["claim_token"], name="notif_claim"),
        ]

    def __str__(self):
        return f"{self.type} to {self.chat_id} ({self.status})"


class NotificationTemplate(models.Model):
    """The text of a notification type in one language, with {placeholders}; overrides the default."""

    type = models.CharField(_("type"), max_length=32, choices=types.CHOICES)
    language = models.CharField(_("language"), max_length=8, choices=[("fa", "فارسی"), ("en", "English")])
    body = models.TextField(_("text"), help_text=_("Placeholders in braces, e.g. {plan}; {{ and }} for literal braces. "
                                                   "HTML allowed."))
    is_active = models.BooleanField(_("in use"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["type", "language"]
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")
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

    customer = models.OneToOneField("shop.Customer", on_delete=models.CASCADE, related_name="notification_settings",
                                    verbose_name=_("customer"))
    disabled_types = models.JSONField(_("kinds turned off"), default=list, blank=True)
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True,
                                   help_text=_("In the customer's time zone; equal to end = off"))
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    daily_limit = models.PositiveSmallIntegerField(_("daily limit"), null=True, blank=True,
                                                   help_text=_("0 = unlimited; empty = default"),
                                                   validators=bounds.between(0, bounds.MAX_DAILY_MESSAGES))
    min_interval_minutes = models.PositiveIntegerField(_("minutes between messages"), null=True, blank=True,
                                                       validators=bounds.between(0, bounds.MAX_INTERVAL_MINUTES))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self):
        return f"settings of {self.customer_id}"


class NotificationLog(models.Model):
    """One delivery attempt."""

    class Result(models.TextChoices):
        SENT = "sent", _("Sent")
        ERROR = "error", _("Error")
        RETRY_LATER = "retry_later", _("Rate limited")
        BLOCKED = "blocked", _("Blocked")
        DEFERRED = "deferred", _("Deferred")
        CANCELLED = "cancelled", _("Cancelled")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="logs",
                                     verbose_name=_("notification"))
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=0)
    status = models.CharField(_("result"), max_length=12, choices=Result.choices)
    error = models.CharField(_("error"), max_length=500, blank=True)
    telegram_message_id = models.BigIntegerField(_("Telegram message id"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery log")

    def __str__(self):
        return f"{self.status} #{self.notification_id}"
