"""Celery helpers shared by the apps' tasks."""

from __future__ import annotations


def retry_later(task, exc: Exception, countdown: float) -> None:
    """Retry a bound task after countdown seconds. Run eagerly (tests, CELERY_TASK_ALWAYS_EAGER)
    with eager propagation, Celery would raise Retry to the caller instead of running the
    retry: there the retry runs at once, in this process."""
    if task.request.is_eager:
        task.retry(exc=exc, countdown=countdown, throw=False).sig.apply()
        return
    raise task.retry(exc=exc, countdown=countdown) from None
