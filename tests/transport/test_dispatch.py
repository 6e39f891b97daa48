"""The webhook's dispatcher: ids handed over by request threads are published in batches,
each exactly once, in order; a failing publish loses nothing; a forked child starts its own."""

import threading
import time

import pytest
from django.db import OperationalError

from vpnbot.transport import dispatch
from vpnbot.transport.models import TelegramUpdate


class Recorder:
    def __init__(self, fail_first: int = 0):
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_first = fail_first
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, ids):
        self.gate.wait(10)
        with self.lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                raise ConnectionError("broker down")
            self.batches.append(list(ids))

    def published(self):
        with self.lock:
            return [i for batch in self.batches for i in batch]


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_quiet_bot_gets_one_task_per_update_without_waiting():
    rec = Recorder()
    d = dispatch.Dispatcher(rec, max_batch=50)
    for i in range(3):
        d.submit(i)
        assert wait_for(lambda i=i: rec.published() == list(range(i + 1)))
    assert rec.batches == [[0], [1], [2]]


def test_a_burst_is_published_in_batches_each_id_once_and_in_order():
    rec = Recorder()
    rec.gate.clear()  # the broker is slow: ids pile up behind the first publish
    d = dispatch.Dispatcher(rec, max_batch=50)
    submitted = list(range(500))
    threads = [threading.Thread(target=lambda part=part: [d.submit(i) for i in part])
               for part in (submitted[:250], submitted[250:])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec.gate.set()
    assert wait_for(lambda: len(rec.published()) == 500)
    assert sorted(rec.published()) == submitted  # every id exactly once
    assert all(len(batch) <= 50 for batch in rec.batches)
    assert len(rec.batches) <= 1 + 500 // 50 + 1  # batched, not one message per update
    for part in (range(0, 250), range(250, 500)):  # each request thread's ids keep their order
        order = [i for i in rec.published() if i in part]
        assert order == list(part)


def test_under_load_ids_gather_for_the_interval_into_one_publish():
    rec = Recorder()
    d = dispatch.Dispatcher(rec, max_batch=50, min_interval=0.5)
    d.submit(0)
    assert wait_for(lambda: rec.batches == [[0]], timeout=0.4)  # after a quiet spell: at once
    for i in range(1, 6):  # arrive within the interval after that publish
        d.submit(i)
    assert wait_for(lambda: len(rec.published()) == 6)
    assert rec.batches == [[0], [1, 2, 3, 4, 5]]


def test_a_failing_publish_does_not_stop_the_dispatcher(caplog):
    rec = Recorder(fail_first=1)
    d = dispatch.Dispatcher(rec, max_batch=10)
    d.submit(1)
    assert wait_for(lambda: rec.calls == 1)
    d.submit(2)
    assert wait_for(lambda: rec.published() == [2])
    assert "requeued" in caplog.text  # the lost batch is logged; its rows stay `received`


def test_a_forked_child_gets_its_own_queue_and_thread(monkeypatch):
    rec = Recorder()
    d = dispatch.Dispatcher(rec, max_batch=10)
    d.submit(1)
    assert wait_for(lambda: rec.published() == [1])
    parent_thread = d._thread
    monkeypatch.setattr(dispatch.os, "getpid", lambda: -12345)  # as if in a new process
    d.submit(2)
    assert d._thread is not parent_thread
    assert wait_for(lambda: rec.published() == [1, 2])


def test_flush_publishes_what_is_waiting_in_the_calling_thread():
    rec = Recorder()
    d = dispatch.Dispatcher(rec, max_batch=10)
    d._ensure_thread()
    rec.gate.clear()
    for i in range(25):
        d._queue.put(i)
    rec.gate.set()
    d.flush()
    assert wait_for(lambda: sorted(rec.published()) == list(range(25)))


@pytest.mark.django_db(transaction=True)
def test_the_webhook_answers_then_the_dispatcher_thread_gets_the_update_processed(
        client, fake_telegram, settings, tg_user, monkeypatch):
    """With a real dispatcher thread (not the inline path tests use elsewhere)."""
    import json

    from tests.conftest import Bot

    monkeypatch.setattr(dispatch, "_inline", lambda: False)  # the dispatcher thread; Celery itself stays eager
    monkeypatch.setattr(dispatch, "_dispatcher", None)
    sent = []
    real = dispatch._publish
    def publish(ids):
        from django.db import connections

        sent.append(list(ids))
        try:
            real(ids)  # eager Celery: the task runs here, in the dispatcher thread
        finally:
            connections.close_all()  # that thread's own database connection

    monkeypatch.setattr(dispatch, "_publish", publish)
    response = client.post("/telegram/webhook/", data=json.dumps(Bot.message_update(tg_user, "/start")),
                           content_type="application/json",
                           HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=settings.TELEGRAM_WEBHOOK_SECRET)
    assert response.status_code == 200
    assert wait_for(lambda: TelegramUpdate.objects.filter(status="done").exists())
    row = TelegramUpdate.objects.get()
    assert sent == [[row.pk]]
    assert wait_for(lambda: len(fake_telegram.sent_texts(tg_user.id)) == 1)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_webhook_stores_the_update_even_when_its_database_connection_was_cut(client, fake_telegram, settings,
                                                                                 tg_user):
    """The acknowledgement skips Django's SELECT 1 health check; a dead connection (database
    restarted, connection killed) is replaced and the update is still stored and answered 200."""
    import json

    from django.db import connection

    from tests.conftest import Bot

    def post(update):
        return client.post("/telegram/webhook/", data=json.dumps(update), content_type="application/json",
                           HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=settings.TELEGRAM_WEBHOOK_SECRET)

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60  # the connection outlives the request
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.close_at = None
    assert post(Bot.message_update(tg_user, "/start")).status_code == 200
    assert connection.connection is not None
    with connection.cursor() as cursor:
        backend = connection.connection.info.backend_pid if connection.vendor == "postgresql" else connection.connection.thread_id()
    import django.db

    other = django.db.connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
            else:
                cursor.execute(f"KILL {int(backend)}")
    finally:
        other.close()
    update = Bot.message_update(tg_user, "/help")
    assert post(update).status_code == 200
    assert TelegramUpdate.objects.filter(update_id=update["update_id"]).exists()


@pytest.mark.django_db
def test_the_requeue_job_gets_updates_whose_hand_over_was_lost_answered(bot, tg_user, fake_telegram):
    """A web process died after storing two updates and before publishing them: the beat job
    queues them again, in batches, and each is answered once."""
    from datetime import timedelta

    from django.utils import timezone

    from vpnbot.transport import services, tasks

    for text in ("/start", "/help"):
        services.inbox_receive(payload=bot.message_update(tg_user, text))
    TelegramUpdate.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    tasks.requeue_stale_updates()
    assert set(TelegramUpdate.objects.values_list("status", flat=True)) == {"done"}
    assert len(fake_telegram.sent_texts(tg_user.id)) == 2
    tasks.requeue_stale_updates()  # nothing left to do: nothing answered twice
    assert len(fake_telegram.sent_texts(tg_user.id)) == 2


@pytest.mark.django_db
def test_one_broken_update_in_a_batch_does_not_stop_the_others(bot, tg_user, fake_telegram, monkeypatch, caplog):
    from vpnbot.transport import application, services, tasks

    first, _ = services.inbox_receive(payload=bot.message_update(tg_user, "/start"))
    second, _ = services.inbox_receive(payload=bot.message_update(tg_user, "/help"))
    third, _ = services.inbox_receive(payload=bot.message_update(tg_user, "/help"))
    real_process = application._process

    async def process(payload):  # fails outside the handlers, before PTB even sees the update
        if payload["update_id"] == first.update_id:
            raise RuntimeError("broken update")
        return await real_process(payload)

    monkeypatch.setattr(application, "_process", process)
    real_update = services.TelegramUpdate.objects.filter

    def filter_(*args, **kwargs):  # recording the second one's outcome hits a database hiccup
        if kwargs.get("pk") == second.pk and not args:
            raise OperationalError("database hiccup")
        return real_update(*args, **kwargs)

    monkeypatch.setattr(services.TelegramUpdate.objects, "filter", filter_)
    tasks.process_updates([first.pk, second.pk, third.pk])
    monkeypatch.undo()
    rows = {row.pk: row for row in TelegramUpdate.objects.all()}
    assert rows[first.pk].status == "failed" and "broken update" in rows[first.pk].error  # visible, retryable
    assert rows[second.pk].status == "processing"  # its outcome is unknown: left for the requeue job
    assert rows[third.pk].status == "done"
    assert "database hiccup" in caplog.text
    assert len(fake_telegram.sent_texts(tg_user.id)) == 2  # /help answered twice; the broken /start never ran


@pytest.mark.django_db
def test_a_batch_claims_each_row_once(bot, tg_user, fake_telegram):
    """Ids handed out twice (a requeue racing the dispatcher) are processed once."""
    from vpnbot.transport import services

    row, _ = services.inbox_receive(payload=bot.message_update(tg_user, "/help"))
    assert services.inbox_process_many(inbox_ids=[row.pk, row.pk]) == {row.pk: "done"}
    assert services.inbox_process_many(inbox_ids=[row.pk]) == {row.pk: None}
    assert len(fake_telegram.sent_texts(tg_user.id)) == 1
