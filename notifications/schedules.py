"""The seed's 15-minute cron, as Celery beat entries (django-celery-beat, editable in the admin)."""

SCHEDULES = [
    {"name": "notifications: send due notifications", "task": "notifications.tasks.process_notifications", "every": 60},
    {"name": "notifications: check expiries", "task": "notifications.tasks.check_expiries", "every": 900},
    {"name": "notifications: check wallets", "task": "notifications.tasks.check_wallets",
     "crontab": {"minute": "5", "hour": "*/6"}},
]
