"""The backups' default beat entries, written to django-celery-beat after every migrate
(editable in the admin afterwards)."""

SCHEDULES = [
    {"name": "backups: daily backup", "task": "backups.tasks.scheduled_backup", "kwargs": {"kind": "daily"},
     "crontab": {"minute": "0", "hour": "3"}},
    {"name": "backups: weekly backup", "task": "backups.tasks.scheduled_backup", "kwargs": {"kind": "weekly"},
     "crontab": {"minute": "30", "hour": "3", "day_of_week": "5"}},
    {"name": "backups: monthly backup", "task": "backups.tasks.scheduled_backup", "kwargs": {"kind": "monthly"},
     "crontab": {"minute": "0", "hour": "4", "day_of_month": "1"}},
    {"name": "backups: weekly verification", "task": "backups.tasks.verify_latest_backup",
     "crontab": {"minute": "0", "hour": "5", "day_of_week": "6"}},
    {"name": "backups: retention cleanup", "task": "backups.tasks.cleanup_backups",
     "crontab": {"minute": "30", "hour": "5"}},
    {"name": "backups: staleness check", "task": "backups.tasks.check_stale_backups",
     "crontab": {"minute": "15"}},
]
