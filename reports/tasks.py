"""Celery tasks of the reports app: each calls one service (nothing when ENABLE_REPORTS is off)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .services import daily, runs


@shared_task(ignore_result=True)
def reconcile_nightly() -> None:
    """Reconcile the ledger, keep the run, alert the admins when its state changes."""
    if settings.ENABLE_REPORTS:
        runs.reconciliation_run(by="nightly")


@shared_task(ignore_result=True)
def send_daily_report() -> None:
    """Yesterday's figures to the admins (or REPORTS_DAILY_CHAT_ID), once per day."""
    if settings.ENABLE_REPORTS:
        daily.daily_report_send()


@shared_task(ignore_result=True)
def rollup_days() -> None:
    """Keep the figures of the closed days the reports read (before the nightly reconciliation)."""
    if settings.ENABLE_REPORTS:
        runs.rollup_run(by="nightly")
