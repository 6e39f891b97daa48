"""The transport's tables: the update inbox (one row per Telegram update, keyed by update_id)
and the dialog state of a user in a multi-step conversation."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TelegramUpdate(models.Model):
    """The update inbox: every update Telegram delivered, stored before it is processed."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        PROCESSING = "processing", _("processing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    update_id = models.BigIntegerField(_("update id"), unique=True)
    kind = models.CharField(_("kind"), max_length=40, blank=True, db_index=True)
    chat_id = models.BigIntegerField(_("chat id"), null=True, blank=True, db_index=True)
    user_id = models.BigIntegerField(_("user id"), null=True, blank=True, db_index=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "received_at"])]
        ordering = ["-id"]
        verbose_name = _("Telegram update")
        verbose_name_plural = _("Telegram updates")

    def __str__(self):
        return f"update {self.update_id} ({self.kind}, {self.status})"


class ChatState(models.Model):
    """Where a user is in a multi-step dialog (top-up amount, a rejection reason, ...).

    Kept in the database so that every worker process sees the same state."""

    user_id = models.BigIntegerField(_("user id"), unique=True)
    name = models.CharField(_("dialog"), max_length=64)
    data = models.JSONField(_("data"), default=dict, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("dialog state")
        verbose_name_plural = _("dialog states")

    def __str__(self):
        return f"{self.user_id}: {self.name}"
