import pytest
from django_celery_beat.models import PeriodicTask

from vpnbot.core.schedules import collect, ensure_schedules

pytestmark = pytest.mark.django_db


def test_default_schedules_are_created_once_and_operator_edits_are_kept():
    PeriodicTask.objects.all().delete()
    created = ensure_schedules()
    names = {job["name"] for job in collect()}
    assert created == len(names) and {"telegram: requeue lost updates", "shop: expire subscriptions"} <= names
    task = PeriodicTask.objects.get(name="shop: expire subscriptions")
    assert task.interval.every == 60 and task.task == "vpnbot.shop.tasks.expire_subscriptions"
    task.enabled = False
    task.save()
    assert ensure_schedules() == 0
    assert PeriodicTask.objects.get(name="shop: expire subscriptions").enabled is False


def test_every_scheduled_task_exists():
    from vpnbot.celery import app

    app.loader.import_default_modules()
    for job in collect():
        assert job["task"] in app.tasks, job["task"]
