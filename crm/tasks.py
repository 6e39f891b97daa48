"""Celery tasks: take ids, call one service.
Their names are the beat rows' and queued messages' contract: they never change."""

from celery import shared_task

from . import services


@shared_task(name="crm.tasks.recompute_profiles")
def recompute_profiles() -> int:
    run = services.profiles_recompute()
    return run.pk if run else 0


@shared_task(name="crm.tasks.deliver_campaign")
def deliver_campaign(campaign_id: int) -> int:
    return services.campaign_deliver(campaign_id=campaign_id)


@shared_task(name="crm.tasks.deliver_due_campaigns")
def deliver_due_campaigns() -> int:
    return sum(services.campaign_deliver(campaign_id=pk) for pk in services.campaigns_due())
