"""Celery tasks: take ids, call one service."""

from celery import shared_task


@shared_task(name="crm.tasks.recompute_profiles")
def recompute_profiles() -> int:
    from .services import profiles_recompute

    run = profiles_recompute()
    return run.pk if run else 0


@shared_task(name="crm.tasks.deliver_campaign")
def deliver_campaign(campaign_id: int) -> int:
    from .services import campaign_deliver

    return campaign_deliver(campaign_id=campaign_id)


@shared_task(name="crm.tasks.deliver_due_campaigns")
def deliver_due_campaigns() -> int:
    from .services import campaign_deliver, campaigns_due

    return sum(campaign_deliver(campaign_id=pk) for pk in campaigns_due())
