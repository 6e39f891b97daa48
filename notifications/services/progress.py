"""A running broadcast's progress message: its text and buttons, and the refresh that edits it
in place (throttled) and finishes a broadcast with nothing left after each delivered batch
(a scheduled occurrence's, once its last time zone was sent too)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vpnbot.core import dates
from vpnbot.shop.models import Customer
from vpnbot.transport import messages

from ..models import Broadcast, Notification, ScheduledOccurrence
from ..selectors import broadcast_progress
from .delivery import register_batch_hook

log = logging.getLogger(__name__)
Status = Notification.Status


def broadcast_progress_text(*, broadcast: Broadcast, language: str | None = None) -> tuple[str, list]:
    p = broadcast_progress(broadcast=broadcast)
    with translation.override(language or settings.LANGUAGE_CODE):
        status = {Broadcast.Status.RUNNING: _("running"), Broadcast.Status.PAUSED: _("paused"),
                  Broadcast.Status.CANCELLED: _("cancelled"), Broadcast.Status.DONE: _("finished"),
                  Broadcast.Status.DRAFT: _("draft")}[broadcast.status]
        eta = "—" if p.eta_seconds is None else f"{p.eta_seconds // 60}:{p.eta_seconds % 60:02d}"
        text = _("📣 Broadcast #%(id)s: %(status)s\nSent: %(sent)s · Failed: %(failed)s · Blocked: %(blocked)s\n"
                 "Remaining: %(remaining)s of %(total)s · ETA: %(eta)s") % {
            "id": broadcast.pk, "status": status, "sent": p.sent, "failed": p.failed, "blocked": p.blocked,
            "remaining": p.remaining, "total": p.total, "eta": eta}
        occurrence = ScheduledOccurrence.objects.filter(broadcast=broadcast).select_related("message").first()
        if occurrence is not None:
            calendar = dates.calendar_for(translation.get_language(), settings.CALENDAR)
            when = dates.wall_text(datetime.strptime(occurrence.wall, "%Y-%m-%dT%H:%M:%S"), calendar)
            text = _("🗓 Scheduled message #%(id)s, %(when)s") % {"id": occurrence.message_id, "when": when} + "\n" + text
            if occurrence.status == ScheduledOccurrence.Status.OPEN and occurrence.message.local_time:
                text += "\n" + _("⏳ Each time zone gets it at its own %(time)s.") % {"time": when.split(" ")[-1]}
        buttons = []
        if broadcast.status == Broadcast.Status.RUNNING:
            buttons = [[(_("⏸ Pause"), f"bc:p:{broadcast.pk}"), (_("✖️ Cancel"), f"bc:c:{broadcast.pk}")]]
        elif broadcast.status == Broadcast.Status.PAUSED:
            buttons = [[(_("▶️ Resume"), f"bc:r:{broadcast.pk}"), (_("✖️ Cancel"), f"bc:c:{broadcast.pk}")]]
    return text, buttons


def broadcast_refresh(*, broadcast_id: int, force: bool = False) -> Broadcast | None:
    """Finish a broadcast with nothing left, and edit its progress message (throttled)."""
    now = timezone.now()
    b = Broadcast.objects.filter(pk=broadcast_id).first()
    if b is None:
        return None
    if (b.status == Broadcast.Status.RUNNING and not Notification.objects.filter(broadcast=b, status=Status.PENDING).exists()
            and not ScheduledOccurrence.objects.filter(broadcast=b, status=ScheduledOccurrence.Status.OPEN).exists()):
        # (an occurrence at each customer's local time stays running until the last time zone's turn)
        if Broadcast.objects.filter(pk=b.pk, status=Broadcast.Status.RUNNING).update(status=Broadcast.Status.DONE, finished_at=now):
            b.refresh_from_db()
            force = True
    if not b.progress_chat_id or not b.progress_message_id:
        return b
    if not force:
        cutoff = now - timedelta(seconds=settings.NOTIFICATION_BROADCAST_PROGRESS_SECONDS)
        if not Broadcast.objects.filter(pk=b.pk).filter(Q(progress_at__isnull=True) | Q(progress_at__lt=cutoff)).update(progress_at=now):
            return b
    else:
        Broadcast.objects.filter(pk=b.pk).update(progress_at=now)
    admin = Customer.objects.filter(telegram_id=b.progress_chat_id).first()
    text, buttons = broadcast_progress_text(broadcast=b, language=admin.effective_language if admin else None)
    try:
        messages.edit_message(b.progress_chat_id, b.progress_message_id, text=text, buttons=buttons,
                              clear_buttons=not buttons, parse_mode="")
    except messages.TelegramError as exc:
        if "not modified" not in exc.description:
            log.info("broadcast progress not edited: %s", exc.description)
    return b


def refresh_after_batch(rows: list[Notification]) -> None:
    """After a delivered batch, refresh the progress of every broadcast it sent to."""
    for broadcast_id in {n.broadcast_id for n in rows if n.broadcast_id}:
        broadcast_refresh(broadcast_id=broadcast_id)


# Delivery knows nothing of broadcasts: it calls this hook after each batch.
register_batch_hook(refresh_after_batch)
