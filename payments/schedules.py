"""The payments' periodic jobs, written to django-celery-beat after every migrate: the
reconciliation (every 5 minutes) and the admins' daily summary (09:00, the shop's time zone)."""

SCHEDULES = [
    {"name": "payments: reconcile pending payments", "task": "payments.tasks.reconcile_payments", "every": 300},
    {"name": "payments: daily summary for the admins", "task": "payments.tasks.send_daily_summary",
     "crontab": {"minute": "0", "hour": "9"}},
]
