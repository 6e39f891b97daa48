"""Celery tasks of the discounts app: thin callers of discounts.services, each run by beat and
safe to run twice (crediting due cashback, catching up stale discount profiles)."""

from celery import shared_task

from . import services


@shared_task(name="discounts.tasks.credit_due_cashback")
def credit_due_cashback() -> int:
    """Credit the delayed cashback whose day has come (idempotent: each once)."""
    return services.cashback_credit_due()


@shared_task(name="discounts.tasks.profiles_catch_up")
def profiles_catch_up() -> int:
    """Recount the discount profiles left stale while smart discounts were switched off."""
    return services.profiles_catch_up()
