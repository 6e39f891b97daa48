from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def process_update(inbox_id: int) -> None:
    services.inbox_process(inbox_id=inbox_id)


@shared_task(ignore_result=True)
def requeue_stale_updates() -> None:
    for pk in services.inbox_requeue_stale():
        process_update.delay(pk)


@shared_task(ignore_result=True)
def purge_processed_updates() -> None:
    services.inbox_purge()
