"""The transport's periodic jobs: requeue updates whose processing was lost, purge old
processed ones."""

SCHEDULES = [
    {"name": "telegram: requeue lost updates", "task": "vpnbot.telegram.tasks.requeue_stale_updates", "every": 60},
    {"name": "telegram: purge processed updates", "task": "vpnbot.telegram.tasks.purge_processed_updates",
     "crontab": {"minute": "30", "hour": "4"}},
]
