"""The notifications app's tables, one module a subject: the outbox (notifications, their
delivery log, templates, customers' settings, broadcasts) and scheduled messages."""

from .outbox import MEDIA_CHOICES, Broadcast, Notification, NotificationLog, NotificationSettings, NotificationTemplate
from .scheduled import ScheduledBatch, ScheduledMessage, ScheduledOccurrence, ScheduledPin

__all__ = [
    "MEDIA_CHOICES", "Broadcast", "Notification", "NotificationLog", "NotificationSettings", "NotificationTemplate",
    "ScheduledBatch", "ScheduledMessage", "ScheduledOccurrence", "ScheduledPin",
]
