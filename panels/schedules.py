"""The panels' periodic jobs, written to django-celery-beat after every migrate: the usage sync
(every PANEL_SYNC_INTERVAL seconds) and the shop's own expiry enforcement (every minute)."""

from django.conf import settings

SCHEDULES = [
    {"name": "panels: sync usage", "task": "panels.tasks.sync_panels", "every": lambda: settings.PANEL_SYNC_INTERVAL},
    {"name": "panels: disable expired accounts", "task": "panels.tasks.expire_accounts", "every": 60},
]
