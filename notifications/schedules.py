"""The seed's 15-minute cron and the scheduled messages' due job, as Celery beat entries
(django-celery-beat, editable in the admin)."""

SCHEDULES = [
    {"name": "notifications: send due notifications", "task": "notifications.tasks.process_notifications", "every": 60},
    {"name": "notifications: check expiries", "task": "notifications.tasks.check_expiries", "every": 900},
    {"name": "notifications: run scheduled messages", "task": "notifications.tasks.run_scheduled_messages",
     "every": 60},
    {"name": "notifications: check wallets", "task": "notifications.tasks.check_wallets",
     "crontab": {"minute": "5", "hour": "*/6"}},
]
