"""The CRM's periodic jobs, written to django-celery-beat after every migrate:
the profile recompute (every CRM_UPDATE_INTERVAL) and the due campaigns (every minute)."""

from django.conf import settings

SCHEDULES = [
    {"name": "crm: recompute profiles", "task": "crm.tasks.recompute_profiles",
     "every": lambda: max(60, settings.CRM_UPDATE_INTERVAL)},
    {"name": "crm: deliver due campaigns", "task": "crm.tasks.deliver_due_campaigns", "every": 60},
]
