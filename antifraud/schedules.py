"""The anti-fraud's periodic job, written to django-celery-beat after every migrate: the admins'
daily summary of what was held or flagged (09:05, the shop's time zone)."""

SCHEDULES = [
    {"name": "antifraud: daily summary for the admins", "task": "antifraud.tasks.send_daily_summary",
     "crontab": {"minute": "5", "hour": "9"}},
]
