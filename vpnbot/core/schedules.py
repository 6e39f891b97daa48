"""Default Celery beat schedules, written to django-celery-beat after every migrate.

Each app lists its jobs in `<app>/schedules.py` as SCHEDULES. A job that exists is left as
the operator edited it; a missing one is created.
"""

from __future__ import annotations

import json

from django.apps import apps
from django.conf import settings
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from .autodiscover import autodiscover


def collect() -> list[dict]:
    jobs = []
    for module in autodiscover("schedules"):
        jobs.extend(getattr(module, "SCHEDULES", []))
    return jobs


def ensure_schedules(**kwargs) -> int:
    created = 0
    for job in collect():
        if PeriodicTask.objects.filter(name=job["name"]).exists():
            continue
        fields = {"task": job["task"], "kwargs": json.dumps(job.get("kwargs", {}))}
        if "every" in job:
            every = job["every"]() if callable(job["every"]) else job["every"]
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(every=int(every), period="seconds")
        else:
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(timezone=settings.TIME_ZONE, **job["crontab"])
        PeriodicTask.objects.create(name=job["name"], **fields)
        created += 1
    return created


def after_migrate(**kwargs) -> None:
    if apps.is_installed("django_celery_beat"):
        ensure_schedules()
