"""Handing stored updates to the workers without a broker round trip per acknowledgement.

The inbox row is the durable record of an update: once it is committed, the update cannot be
lost. Publishing its processing task is only the fast way to start the work, and it is the most
expensive part of an acknowledgement (building and publishing a Celery message costs more CPU
than the INSERT). So the webhook hands the row id to a per-process dispatcher thread and
answers at once; the thread publishes one ``process_updates`` task for all the ids waiting at
that moment: one id when the bot is quiet (no added latency), up to
``TELEGRAM_DISPATCH_BATCH`` in a burst (one message instead of dozens). Under load it publishes
at most once per ``TELEGRAM_DISPATCH_INTERVAL_MS`` (the ids gather meanwhile), so a burst costs
a few publishes a second per process, not hundreds; after a quiet spell the first id goes at once.

Nothing is lost if a process dies with ids in its queue: their rows are still ``received``
and the requeue job (every minute) queues them again. On a normal exit the queue is flushed.
With Celery in eager mode (tests) the task is published inline, so behaviour stays synchronous.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable

from celery import current_app
from django.conf import settings

from . import tasks

log = logging.getLogger(__name__)


class Dispatcher:
    """Batches ids handed over by request threads and publishes them from one thread."""

    def __init__(self, publish: Callable[[list[int]], None], max_batch: int = 100, min_interval: float = 0.0):
        self._publish = publish
        self.max_batch = max(1, max_batch)
        self.min_interval = max(0.0, min_interval)
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, inbox_id: int) -> None:
        self._ensure_thread()
        self._queue.put(inbox_id)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid != os.getpid():
                # A forked child (a gunicorn worker) starts with its own queue and thread.
                self._queue = queue.SimpleQueue()
                self._pid = os.getpid()
                self._thread = None
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="telegram-dispatch", daemon=True)
                self._thread.start()

    def _take_batch(self, first: int) -> list[int]:
        ids = [first]
        while len(ids) < self.max_batch:
            try:
                ids.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return ids

    def _send(self, ids: list[int]) -> None:
        try:
            self._publish(ids)
        except Exception:  # noqa: BLE001 - the rows stay `received`; the requeue job picks them up
            log.exception("could not queue %d update(s) for processing; they will be requeued within minutes",
                          len(ids))

    def _run(self) -> None:
        last = float("-inf")
        while True:
            first = self._queue.get()
            pause = last + self.min_interval - time.monotonic()
            if pause > 0:  # published a moment ago: let the burst gather into one message
                time.sleep(pause)
            last = time.monotonic()
            self._send(self._take_batch(first))

    def flush(self) -> int:
        """Publish whatever is waiting, in the calling thread (at process exit)."""
        if self._pid != os.getpid():
            return 0
        sent = 0
        while True:
            try:
                first = self._queue.get_nowait()
            except queue.Empty:
                return sent
            ids = self._take_batch(first)
            self._send(ids)
            sent += len(ids)


def _publish(ids: list[int]) -> None:
    tasks.process_updates.delay(ids)


def _inline() -> bool:
    return bool(current_app.conf.task_always_eager)


_dispatcher: Dispatcher | None = None


def _get() -> Dispatcher:
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = Dispatcher(_publish, settings.TELEGRAM_DISPATCH_BATCH,
                                 settings.TELEGRAM_DISPATCH_INTERVAL_MS / 1000)
        atexit.register(_dispatcher.flush)
    return _dispatcher


def enqueue(inbox_ids: Iterable[int]) -> None:
    """Queue stored updates for processing (call after the rows are committed)."""
    ids = list(inbox_ids)
    if not ids:
        return
    if _inline():
        _publish(ids)
        return
    dispatcher = _get()
    for inbox_id in ids:
        dispatcher.submit(inbox_id)
