"""Celery tasks: thin callers of discounts.services."""

from celery import shared_task

from . import services


@shared_task(name="discounts.tasks.credit_due_cashback")
def credit_due_cashback() -> int:
    """Credit the delayed cashback whose day has come (idempotent: each once)."""
    return services.cashback_credit_due()
