"""The shop's periodic jobs, written to django-celery-beat after every migrate:
expiring the subscriptions whose time is over."""

SCHEDULES = [
    {"name": "shop: expire subscriptions", "task": "vpnbot.shop.tasks.expire_subscriptions", "every": 60},
]
