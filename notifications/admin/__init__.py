"""The notifications in the Django admin, by subject: the outbox, its delivery log, templates,
customers' settings and broadcasts (outbox); scheduled messages with their calendar of upcoming
occurrences (scheduled)."""

from . import outbox, scheduled  # noqa: F401  (each registers its ModelAdmins)
