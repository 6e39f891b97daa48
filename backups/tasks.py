"""Celery tasks of the backups: each takes plain arguments and calls one service; a busy
lock makes the task try again later (Celery task names are backups.tasks.<name>)."""

from celery import shared_task

from . import services

# A queued operation without a chat (admin site, API) that finds another one running tries
# again every BUSY_RETRY_SECONDS, BUSY_MAX_RETRIES times (30 minutes), then gives up visibly.
BUSY_RETRY_SECONDS = 120
BUSY_MAX_RETRIES = 15


@shared_task(bind=True, ignore_result=True, max_retries=BUSY_MAX_RETRIES)
def run_for_chat(self, operation: str, chat_id: int | None = None, message_id: int | None = None,
                 requested_by: str = "", language: str = "", backup_id: int | None = None) -> None:
    try:
        services.backup_run_for_chat(operation=operation, chat_id=chat_id, message_id=message_id,
                                     requested_by=requested_by, language=language, backup_id=backup_id,
                                     retry_if_busy=self.request.retries < self.max_retries)
    except services.BackupBusy as exc:
        raise self.retry(countdown=BUSY_RETRY_SECONDS) from exc


@shared_task(bind=True, ignore_result=True, max_retries=12)
def scheduled_backup(self, kind: str) -> None:
    try:
        services.backup_scheduled(kind=kind)
    except services.BackupBusy as exc:
        raise self.retry(countdown=300) from exc


@shared_task(ignore_result=True)
def verify_latest_backup() -> None:
    services.backup_verify_latest()


@shared_task(ignore_result=True)
def cleanup_backups() -> None:
    services.backup_cleanup(requested_by="schedule")


@shared_task(ignore_result=True)
def check_stale_backups() -> None:
    services.backup_check_staleness()
