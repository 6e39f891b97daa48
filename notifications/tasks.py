"""Celery tasks of the notifications app: each takes ids and calls one service (send what is
due, one notification, the scans, a broadcast, the scheduled messages' due job). Their names
are in beat rows: never rename them."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def process_notifications() -> None:
    services.notification_process()


@shared_task(ignore_result=True)
def send_notification(notification_id: int) -> None:
    services.notification_process(ids=[notification_id])


@shared_task(ignore_result=True)
def check_expiries() -> None:
    services.notification_scan_expiries()


@shared_task(ignore_result=True)
def check_wallets() -> None:
    services.notification_scan_wallets()


@shared_task(ignore_result=True)
def run_broadcast(broadcast_id: int) -> None:
    services.broadcast_run(broadcast_id=broadcast_id, continue_later=True)


@shared_task(ignore_result=True)
def run_scheduled_messages() -> None:
    services.scheduled_messages_run()
