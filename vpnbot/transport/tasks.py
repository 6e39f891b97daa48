"""Celery tasks of the transport: process stored updates, requeue lost ones, purge old ones.

Task names keep the package's former path (`vpnbot.telegram.tasks.*`), so beat schedules and
messages already queued by an older release still find them."""

from celery import shared_task

from . import services

# Rows requeued or retried together are published in batches of this size.
REQUEUE_BATCH = 50


@shared_task(name="vpnbot.telegram.tasks.process_update", ignore_result=True)
def process_update(inbox_id: int) -> None:
    services.inbox_process(inbox_id=inbox_id)


@shared_task(name="vpnbot.telegram.tasks.process_updates", ignore_result=True)
def process_updates(inbox_ids: list[int]) -> None:
    """A batch handed over by the webhook's dispatcher (see dispatch.py), processed in order."""
    services.inbox_process_many(inbox_ids=inbox_ids)


def queue_in_batches(inbox_ids: list[int]) -> None:
    for i in range(0, len(inbox_ids), REQUEUE_BATCH):
        process_updates.delay(inbox_ids[i:i + REQUEUE_BATCH])


@shared_task(name="vpnbot.telegram.tasks.requeue_stale_updates", ignore_result=True)
def requeue_stale_updates() -> None:
    queue_in_batches(services.inbox_requeue_stale())


@shared_task(name="vpnbot.telegram.tasks.purge_processed_updates", ignore_result=True)
def purge_processed_updates() -> None:
    services.inbox_purge()
