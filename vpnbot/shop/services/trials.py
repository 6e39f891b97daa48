"""The free trial: one per customer (a Trial row unique per customer, so two presses at once
make one), a subscription with no order on the plan TRIAL_PLAN_ID, provisioned like a purchase;
the provisioner gives its account TRIAL_TRAFFIC_GB (Subscription.is_trial). Buying the trial's
plan later is a purchase of its own, never a renewal of the trial (subscription_for_order)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core import bounds

from .. import events, risk
from ..models import Customer, Plan, Subscription, Trial
from ..provisioning import get_provisioner
from .errors import ShopError
from .subscriptions import subscription_provision


def trial_days() -> int:
    return min(max(settings.TRIAL_DAYS, 1), bounds.MAX_DAYS)


def trial_traffic_gb() -> int:
    """0 = unlimited."""
    return min(max(settings.TRIAL_TRAFFIC_GB, 0), bounds.MAX_TRAFFIC_GB)


def trial_plan() -> Plan:
    """The plan trials are made on, when trials are offered; a ShopError otherwise."""
    if not settings.TRIAL_ENABLED:
        raise ShopError(_("Free trials are not offered right now. See /plans."))
    plan = Plan.objects.filter(pk=settings.TRIAL_PLAN_ID).first() if settings.TRIAL_PLAN_ID else None
    if plan is None or not get_provisioner().plan_targets([plan]).get(plan.pk):
        raise ShopError(_("Free trials are not available right now. Please try again later, or see /plans."))
    return plan


class TrialHeld(ShopError):
    """The risk checks hold this trial: not now; an operator looks at it."""

    def __init__(self, verdict):
        super().__init__(_("Your free trial request is being reviewed. We will send you a message when it is decided."))
        self.verdict = verdict


def trial_start(*, customer_id: int, released: bool = False) -> Subscription:
    """The customer's free trial: a subscription of TRIAL_DAYS from now, provisioned after
    commit. A ShopError when trials are off, not available, or the customer had one; TrialHeld
    when the risk checks hold it (released=True: an operator let it go, the checks are not asked)."""
    plan = trial_plan()
    if Trial.objects.filter(customer_id=customer_id).exists():
        raise ShopError(_("You have already had your free trial. See /plans to buy a service."))
    if not released:
        verdict = risk.risk_assess(subject="trial", customer=Customer.objects.get(pk=customer_id), stage="start")
        if verdict.held:
            raise TrialHeld(verdict)
    try:
        with transaction.atomic():
            customer = Customer.objects.select_for_update().get(pk=customer_id)
            if Trial.objects.filter(customer=customer).exists():
                raise ShopError(_("You have already had your free trial. See /plans to buy a service."))
            now = timezone.now()
            subscription = Subscription.objects.create(customer=customer, plan=plan, starts_at=now,
                                                       expires_at=now + timedelta(days=trial_days()), is_trial=True)
            Trial.objects.create(customer=customer, subscription=subscription, created_at=now)
            events.emit("trial_started", customer=customer, subscription_id=subscription.pk, plan_id=plan.pk,
                        days=trial_days(), traffic_gb=trial_traffic_gb())
    except IntegrityError:
        if Trial.objects.filter(customer_id=customer_id).exists():  # the other press made it
            raise ShopError(_("You have already had your free trial. See /plans to buy a service.")) from None
        raise
    transaction.on_commit(partial(subscription_provision, subscription_id=subscription.pk))
    return subscription
