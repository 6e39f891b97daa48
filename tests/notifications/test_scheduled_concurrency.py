"""Two processors on the same due occurrence at once (a beat that fired twice, two beats by
mistake, the command run by hand beside the beat): every recipient gets it once. Real
connections (threads) and real processes against PostgreSQL or MariaDB."""

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from notifications import services
from notifications.models import Notification, ScheduledBatch, ScheduledOccurrence
from tests.conftest import run_threads
from tests.factories import CustomerFactory
from tests.notifications.scheduling import deliveries, schedule, tehran, utc

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def test_four_processors_at_once_send_each_recipient_once(fake_telegram, settings):
    settings.NOTIFICATION_SEND_THREADS = 2
    customers = CustomerFactory.create_batch(30)
    with time_machine.travel(tehran(2026, 3, 1, 9), tick=False):
        message = schedule(text="Once each", starts_at="2026-03-01 10:00", repeat="daily", count=2)

    def processor(i):
        result = services.scheduled_messages_run()
        services.notification_process()
        return result

    with time_machine.travel(tehran(2026, 3, 1, 10, 0, 5), tick=False):
        results = run_threads(processor, 4)
    assert all(isinstance(r, services.RunResult) for r in results), results
    assert sum(r.queued for r in results) == 1 and sum(r.opened for r in results) == 1
    assert deliveries(fake_telegram, "Once each") == {c.telegram_id: 1 for c in customers}
    assert ScheduledOccurrence.objects.filter(message=message).count() == 1
    assert ScheduledBatch.objects.filter(occurrence__message=message).count() == 1


def test_processors_on_zones_at_once_at_local_time(fake_telegram, settings):
    """At each customer's local time, batches per zone: processors racing over several zones
    and the next occurrence still write each batch once."""
    settings.NOTIFICATION_SEND_THREADS = 2
    tehran_people = CustomerFactory.create_batch(10, time_zone="Asia/Tehran")
    berlin_people = CustomerFactory.create_batch(10, time_zone="Europe/Berlin")
    with time_machine.travel(utc(2026, 3, 27, 12), tick=False):
        schedule(text="Local once", starts_at="2026-03-28 10:00", repeat="daily", count=2, local_time=True)

    def processor(i):
        services.scheduled_messages_run()
        services.notification_process()

    for moment in (utc(2026, 3, 28, 6, 30), utc(2026, 3, 28, 9, 0), utc(2026, 3, 29, 6, 30), utc(2026, 3, 29, 8, 0)):
        with time_machine.travel(moment, tick=False):
            assert not any(run_threads(processor, 3))
    got = deliveries(fake_telegram, "Local once")
    assert got == {c.telegram_id: 2 for c in tehran_people + berlin_people}
    assert Notification.objects.filter(text="Local once").count() == 40


def _env(fake, **extra) -> dict:
    s = connection.settings_dict
    scheme = "postgres" if connection.vendor == "postgresql" else "mysql"
    db_url = f"{scheme}://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT']}/{s['NAME']}"
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "vpnbot.settings", "DATABASE_URL": db_url, "REDIS_URL": "",
            "TELEGRAM_API_URL": fake.url, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_PER_CHAT_INTERVAL": "0",
            "TELEGRAM_MAX_MESSAGES_PER_SECOND": "1000", "NOTIFICATION_SEND_THREADS": "2", "CELERY_TASK_ALWAYS_EAGER": "true",
            "PYTHONPATH": os.getcwd(), **extra}


def test_two_processes_running_the_due_job_at_once(fake_telegram):
    """Two processes poll the due job from before the message's time: both see it come due at
    the same moment."""
    customers = CustomerFactory.create_batch(40)
    message = schedule(text="Two processes", starts_at=timezone.now() + timedelta(seconds=3))
    command = [sys.executable, "-m", "tests.notifications.scheduled_worker", str(message.pk)]
    workers = [subprocess.Popen(command, env=_env(fake_telegram)) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    got = deliveries(fake_telegram, "Two processes")
    assert got == {c.telegram_id: 1 for c in customers}
    assert Counter(Notification.objects.filter(text="Two processes").values_list("status", flat=True)) == {"sent": 40}
