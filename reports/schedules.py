"""The reports' periodic jobs, written to django-celery-beat after every migrate (the shop's
time zone): the closed days' figures rolled up at 03:10, the nightly reconciliation at 03:30, and the daily report at REPORTS_DAILY_AT
(HH:MM). A job that exists is left as the operator edited it in the admin."""

from .services.daily import daily_at

_hour, _minute = daily_at()

SCHEDULES = [
    {"name": "reports: roll up the closed days", "task": "reports.tasks.rollup_days",
     "crontab": {"minute": "10", "hour": "3"}},
    {"name": "reports: nightly reconciliation of the ledger", "task": "reports.tasks.reconcile_nightly",
     "crontab": {"minute": "30", "hour": "3"}},
    {"name": "reports: daily report for the admins", "task": "reports.tasks.send_daily_report",
     "crontab": {"minute": str(_minute), "hour": str(_hour)}},
]
