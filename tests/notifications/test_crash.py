"""A worker that dies mid-broadcast repeats at most the sends it had in flight (one per
sending thread) and loses none; one that is stopped finishes its slice and leaves the rest
queued. Real processes against the test database, so PostgreSQL or MariaDB only."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
import redis
from django.db import connection
from django.utils import timezone

from notifications import services
from notifications.models import Broadcast, Notification
from tests.conftest import TEST_REDIS_URL
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]
THREADS = 4
RECIPIENTS = 300


def _env(fake, **extra) -> dict:
    s = connection.settings_dict
    scheme = "postgres" if connection.vendor == "postgresql" else "mysql"
    db_url = f"{scheme}://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT']}/{s['NAME']}"
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "vpnbot.settings", "DATABASE_URL": db_url, "REDIS_URL": "",
            "TELEGRAM_API_URL": fake.url, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_PER_CHAT_INTERVAL": "0",
            "TELEGRAM_MAX_MESSAGES_PER_SECOND": "60", "NOTIFICATION_SEND_THREADS": str(THREADS),
            "NOTIFICATION_BATCH_SIZE": "100", "PYTHONPATH": os.getcwd(), **extra}


def _broadcast(text: str) -> Broadcast:
    CustomerFactory.create_batch(RECIPIENTS)
    b = services.broadcast_create(created_by=9001, text=text)
    return services.broadcast_start(broadcast_id=b.pk)


def _wait_for_sends(fake, text: str, n: int, proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for c in fake.calls_to("sendMessage") if c.text == text) < n:
        assert proc.poll() is None, "the worker ended before it was stopped"
        assert time.monotonic() < deadline, "the worker sent too little"
        time.sleep(0.01)


def _finish_in_process(b: Broadcast) -> None:
    """What the every-minute job does once the dead worker's claims have lapsed."""
    Notification.objects.filter(broadcast=b, status="pending").update(claimed_until=timezone.now())
    services.broadcast_run(broadcast_id=b.pk)


def _deliveries(fake, text: str) -> Counter:
    return Counter(c.chat_id for c in fake.calls_to("sendMessage") if c.text == text)


def test_a_worker_killed_mid_broadcast_repeats_only_its_in_flight_sends(fake_telegram):
    fake_telegram.latency = 0.02  # each send is in flight a while, as over a real network
    b = _broadcast("Crash test")
    worker = subprocess.Popen([sys.executable, "-m", "tests.notifications.broadcast_worker", str(b.pk)],
                              env=_env(fake_telegram))
    try:
        _wait_for_sends(fake_telegram, "Crash test", 120, worker)  # past the first batch of 100
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    killed_after = sum(_deliveries(fake_telegram, "Crash test").values())
    assert killed_after < RECIPIENTS
    _finish_in_process(b)
    delivered = _deliveries(fake_telegram, "Crash test")
    recipients = set(Notification.objects.filter(broadcast=b).values_list("chat_id", flat=True))
    assert set(delivered) == recipients and len(recipients) == RECIPIENTS  # nobody lost
    duplicates = sum(n - 1 for n in delivered.values())
    assert duplicates <= THREADS, f"{duplicates} repeated sends; at most {THREADS} were in flight"
    assert Broadcast.objects.get(pk=b.pk).status == "done"


@pytest.mark.redis
def test_a_stopped_worker_finishes_its_slice_and_leaves_the_rest_queued(fake_telegram):
    """SIGTERM (docker stop) makes Celery finish the running task: a slice of the broadcast,
    which queues the next one. The worker is gone well within a grace period; nothing was
    sent twice and the rest goes out after the restart."""
    queue = f"test-{uuid.uuid4().hex}"
    fake_telegram.latency = 0.02
    b = _broadcast("Stop test")
    env = _env(fake_telegram, CELERY_BROKER_URL=TEST_REDIS_URL, NOTIFICATION_PROCESS_TIME_BUDGET="2",
               CELERY_TASK_DEFAULT_QUEUE=queue)
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "vpnbot", "worker", "-P", "solo", "-Q", queue,
                               "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"], env=env)
    try:
        from notifications import tasks
        from vpnbot.celery import app

        with app.connection_for_write(TEST_REDIS_URL) as conn:  # send_task publishes even in eager mode
            app.send_task(tasks.run_broadcast.name, args=[b.pk], connection=conn, queue=queue)
        _wait_for_sends(fake_telegram, "Stop test", 30, worker)
        stopped_at = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        assert time.monotonic() - stopped_at < 10  # the slice's budget (2 s) and its last sends
        sent = _deliveries(fake_telegram, "Stop test")
        assert set(sent.values()) == {1} and sum(sent.values()) < RECIPIENTS
        assert Notification.objects.filter(broadcast=b, status="pending").exclude(claim_token="").count() == 0
        client = redis.Redis.from_url(TEST_REDIS_URL)
        assert client.llen(queue) == 1  # the next slice, waiting for a worker
        _finish_in_process(b)
        delivered = _deliveries(fake_telegram, "Stop test")
        assert len(delivered) == RECIPIENTS and set(delivered.values()) == {1}
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
        client = redis.Redis.from_url(TEST_REDIS_URL)
        for key in client.scan_iter(f"{queue}*"):
            client.delete(key)
