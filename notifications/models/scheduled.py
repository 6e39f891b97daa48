"""Scheduled messages: what to send, to whom and when (once, or repeating by a rule), each
occurrence as it comes due, the batches an occurrence is sent in (one per time zone when it
goes at each customer's own local time), and the pins of pinned messages.

An occurrence is keyed by its clock time (`wall`), unique per message, and a batch by its
occurrence and time zone: whoever writes the row first sends it, so two due jobs at once (a
beat that fires twice, two beats) never send the same occurrence twice. Each recipient's
Notification has its own dedup key (message, occurrence, customer) on top."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vpnbot.core import bounds

from .outbox import MEDIA_CHOICES, Broadcast, Notification

MAX_INTERVAL = 366
MAX_TIMES = 1000
MAX_CHAT_ID = 10**15  # a Telegram user id (they fit in 52 bits)


def shop_time_zone() -> str:
    return settings.TIME_ZONE


def shop_calendar() -> str:
    return "gregorian" if settings.CALENDAR == "gregorian" else "jalali"


class ScheduledMessage(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Started")
        DONE = "done", _("Finished")
        CANCELLED = "cancelled", _("Cancelled")

    class Repeat(models.TextChoices):
        ONCE = "once", _("Once")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")
        RRULE = "rrule", _("Custom rule (RRULE)")

    class Calendar(models.TextChoices):
        JALALI = "jalali", _("Jalali (Solar Hijri)")
        GREGORIAN = "gregorian", _("Gregorian")

    # what
    text = models.TextField(_("text"), blank=True, help_text=_("HTML as Telegram reads it; the caption of a file"))
    media_type = models.CharField(_("media type"), max_length=10, blank=True, choices=MEDIA_CHOICES)
    media = models.CharField(_("file"), max_length=255, blank=True, help_text=_("A Telegram file_id or an https URL"))
    buttons = models.JSONField(_("buttons"), default=list, blank=True, help_text=_("rows of [label, url:https://…]"))
    pin = models.BooleanField(_("pin"), default=False,
                              help_text=_("Pin it in each chat; a later occurrence unpins the one before"))
    urgent = models.BooleanField(_("urgent"), default=False, help_text=_("Sent during quiet hours too"))
    # to whom (resolved when each occurrence is sent)
    audience = models.CharField(_("audience"), max_length=40, default="all")
    audience_params = models.JSONField(_("audience parameters"), default=dict, blank=True)
    # when
    starts_at = models.DateTimeField(_("first time"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default=shop_time_zone,
                                 help_text=_("The clock the times are written in"))
    local_time = models.BooleanField(_("at each customer's local time"), default=False,
                                     help_text=_("10:00 means 10:00 on each customer's own clock"))
    repeat = models.CharField(_("repeat"), max_length=10, choices=Repeat.choices, default=Repeat.ONCE)
    interval = models.PositiveSmallIntegerField(_("every"), default=1, validators=bounds.between(1, MAX_INTERVAL),
                                                help_text=_("Every N days, weeks or months"))
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True, help_text=_("0 = Monday … 6 = Sunday"))
    month_day = models.PositiveSmallIntegerField(_("day of the month"), null=True, blank=True,
                                                 validators=bounds.between(1, 31),
                                                 help_text=_("29–31: the last day of a shorter month"))
    calendar = models.CharField(_("calendar"), max_length=10, choices=Calendar.choices, default=shop_calendar,
                                help_text=_("Whose months a monthly message follows"))
    rrule = models.CharField(_("RRULE"), max_length=500, blank=True, help_text=_("RFC 5545, e.g. FREQ=WEEKLY;BYDAY=MO,TH"))
    until = models.DateField(_("until"), null=True, blank=True, help_text=_("The last day (inclusive)"))
    count = models.PositiveIntegerField(_("times"), null=True, blank=True, validators=bounds.between(1, MAX_TIMES),
                                        help_text=_("Stop after this many occurrences"))
    # state
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.CharField(_("created by"), max_length=100, blank=True)
    operator_chat_id = models.BigIntegerField(_("operator's chat"), null=True, blank=True,
                                              validators=bounds.between(1, MAX_CHAT_ID),
                                              help_text=_("Gets the preview and each occurrence's progress"))
    next_at = models.DateTimeField(_("next due"), null=True, blank=True, db_index=True,
                                   help_text=_("When the due job next opens an occurrence"))
    last_wall = models.CharField(_("last occurrence opened"), max_length=19, blank=True)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("scheduled message")
        verbose_name_plural = _("scheduled messages")
        permissions = [("schedule_message", _("Can schedule, edit and cancel scheduled messages"))]

    def __str__(self):
        return f"scheduled message #{self.pk} ({self.status})"

    @property
    def editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)


class ScheduledOccurrence(models.Model):
    """One time a scheduled message is due. Opened by the due job when its first recipients'
    time comes; sent in batches (one per time zone when it goes at local time)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Due")
        DONE = "done", _("Sent")
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", _("Cancelled")

    message = models.ForeignKey(ScheduledMessage, on_delete=models.CASCADE, related_name="occurrences",
                                verbose_name=_("scheduled message"))
    wall = models.CharField(_("clock time"), max_length=19,
                            help_text=_("In the message's time zone, or on each customer's clock"))
    at = models.DateTimeField(_("time"), help_text=_("The clock time in the message's time zone"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    broadcast = models.OneToOneField(Broadcast, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="scheduled_occurrence", verbose_name=_("broadcast"))
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("occurrence")
        verbose_name_plural = _("occurrences")
        constraints = [models.UniqueConstraint(fields=["message", "wall"], name="sched_occurrence_once")]
        indexes = [models.Index(fields=["message", "status"], name="sched_occurrence_state")]

    def __str__(self):
        return f"#{self.message_id} at {self.wall}"


class ScheduledBatch(models.Model):
    """The recipients of an occurrence in one time zone (or all of them, when it goes at the
    message's own clock), written once: the unique (occurrence, zone) is the claim."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SKIPPED = "skipped", _("Skipped")

    occurrence = models.ForeignKey(ScheduledOccurrence, on_delete=models.CASCADE, related_name="batches",
                                   verbose_name=_("occurrence"))
    zone = models.CharField(_("time zone"), max_length=64)
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        constraints = [models.UniqueConstraint(fields=["occurrence", "zone"], name="sched_batch_once")]

    def __str__(self):
        return f"{self.occurrence} in {self.zone}"


class ScheduledPin(models.Model):
    """A sent message of a pinned schedule: pinned in its chat, and unpinned when a later
    occurrence's message is pinned there."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To pin")
        PINNED = "pinned", _("Pinned")
        REPLACED = "replaced", _("To unpin")
        UNPINNED = "unpinned", _("Unpinned")
        FAILED = "failed", _("Failed")

    message = models.ForeignKey(ScheduledMessage, on_delete=models.CASCADE, related_name="pins",
                                verbose_name=_("scheduled message"))
    notification = models.OneToOneField(Notification, on_delete=models.CASCADE, related_name="scheduled_pin",
                                        verbose_name=_("notification"))
    chat_id = models.BigIntegerField(_("chat"))
    telegram_message_id = models.BigIntegerField(_("Telegram message id"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    retry_at = models.DateTimeField(_("next try"), default=timezone.now)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    pinned_at = models.DateTimeField(_("pinned at"), null=True, blank=True)
    unpinned_at = models.DateTimeField(_("unpinned at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("pin")
        verbose_name_plural = _("pins")
        indexes = [models.Index(fields=["message", "chat_id", "status"], name="sched_pin_chat"),
                   models.Index(fields=["status", "retry_at"], name="sched_pin_due")]

    def __str__(self):
        return f"pin of {self.telegram_message_id} in {self.chat_id} ({self.status})"
