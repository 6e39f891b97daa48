"""Subscriptions: made or extended by a paid order, provisioned (the config asked of the
provisioner, else of the operators), the config delivered to the customer, and expiry."""

from __future__ import annotations

import hashlib
import html
import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core import bounds
from vpnbot.transport import messages

from .. import events, messaging
from ..formatting import MAX_CONFIG_LENGTH, config_html, format_date
from ..models import Order, Subscription
from ..provisioning import LATER, ProvisioningUnavailable, get_provisioner
from .errors import NewLinkTooSoon, ShopError

log = logging.getLogger(__name__)


def subscription_for_order(order: Order, now: datetime, *, renew: Subscription | None = None,
                           resale_label: str = "") -> Subscription:
    """Inside the checkout transaction: the order's subscription, following on from the
    customer's running one of the same plan (a renewal keeps its config; a free trial is never
    renewed: buying its plan is a purchase of its own, on an account of its own). Renewals stack at
    most MAX_AHEAD_DAYS ahead of now: further is refused with a ShopError (and the checkout's
    transaction takes back everything else), so an end date is always a date.

    A reseller's account (resale_label) is an account of its own, never the follow-on of another;
    `renew` names the subscription to follow on from instead (a resold account renewed): it
    follows on from its end if that is still ahead, else starts now on the same account."""
    if renew is not None:
        previous = renew
    elif resale_label:
        previous = None
    else:
        previous = (Subscription.objects.filter(customer=order.customer, plan=order.plan, status=Subscription.Status.ACTIVE,
                                                expires_at__gt=now, is_trial=False, resold=False)
                    .order_by("-expires_at").first())
    starts = max(now, previous.expires_at) if previous else now
    days = timedelta(days=order.plan.duration_days * order.quantity)  # within MAX_ORDER_DAYS (check_order_terms)
    if starts > now + timedelta(days=bounds.MAX_AHEAD_DAYS) - days:  # not starts + days: it may be near year 9999
        raise ShopError(_("Your %(plan)s service is already paid for far ahead: it cannot be extended beyond "
                          "%(years)s years from today.") % {"plan": order.plan.name, "years": bounds.MAX_AHEAD_DAYS // 365})
    subscription = Subscription.objects.create(
        customer=order.customer, plan=order.plan, order=order, starts_at=starts,
        expires_at=starts + days, renewed_from=previous,
        resold=bool(previous.resold if previous else resale_label), label=(previous.label if previous else resale_label)[:64],
        config=previous.config if previous else "", config_delivered_at=now if previous and previous.config else None)
    if previous:
        events.emit("subscription_extended", customer=order.customer, subscription_id=subscription.pk,
                    previous_id=previous.pk, expires_at=subscription.expires_at.isoformat())
    return subscription


def subscription_provision(*, subscription_id: int) -> None:
    """Ask the provisioner for the config; deliver it, or ask the operators to."""
    subscription = Subscription.objects.select_related("customer", "plan", "renewed_from").get(pk=subscription_id)
    provisioner = get_provisioner()
    config = provisioner.extend(subscription) if subscription.renewed_from_id else provisioner.provision(subscription)
    if config is LATER:  # the provisioner delivers it when the account is ready
        if not subscription.renewed_from_id:
            messaging.notify_customer(
                subscription.customer, kind="message", dedup_key=f"preparing:{subscription.pk}",
                text=lambda: _("⏳ Your %(plan)s service is being prepared: you will get it here in a moment.")
                % {"plan": subscription.plan.name})
        return
    if config:
        try:
            subscription_deliver_config(subscription_id=subscription.pk, config=config,
                                        renewal=bool(subscription.renewed_from_id))
            return
        except ShopError as exc:  # e.g. too long for a message: an operator pastes one that fits
            log.warning("config of subscription %s not delivered: %s", subscription.pk, exc)
    if subscription.order_id is None:  # a free trial
        messages.notify_admins(dedup_key=f"needs-config:{subscription.pk}", text=lambda: _(
            "🛠 The free trial of %(customer)s (%(plan)s) needs a VPN config. Paste it in the admin "
            "(Subscriptions → #%(id)s).") % {"plan": subscription.plan, "customer": subscription.customer,
                                              "id": subscription.pk})
        return
    messages.notify_admins(dedup_key=f"needs-config:{subscription.pk}", text=lambda: _(
        "🛠 Order #%(order)s needs a VPN config: %(plan)s for %(customer)s. Paste it in the admin "
        "(Subscriptions → #%(id)s).") % {"order": subscription.order_id, "plan": subscription.plan,
                                          "customer": subscription.customer, "id": subscription.pk})


def subscription_validate_config(config: str) -> str:
    """The config stripped, or a ShopError when it is empty or cannot travel in one message."""
    config = (config or "").strip()
    if not config:
        raise ShopError(_("The config is empty."))
    length = len(config_html(config))
    if length > MAX_CONFIG_LENGTH:
        raise ShopError(_("The config is too long for a Telegram message: %(length)s characters as sent, %(max)s at "
                          "most (each &, < or > counts as 4 or 5). Deliver a subscription link instead.")
                        % {"length": f"{length:,}", "max": f"{MAX_CONFIG_LENGTH:,}"})
    return config


def subscription_deliver_config(*, subscription_id: int, config: str, renewal: bool = False) -> Subscription:
    config = subscription_validate_config(config)
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().select_related("customer", "plan").get(pk=subscription_id)
        first_delivery = subscription.config != config or not subscription.config_delivered_at
        Subscription.objects.filter(pk=subscription.pk).update(config=config, config_delivered_at=timezone.now())
        subscription.config = config
        if first_delivery or renewal:
            events.emit("config_delivered", customer=subscription.customer, subscription_id=subscription.pk)
            expires = subscription.expires_at
            messaging.notify_customer(
                subscription.customer, kind="config_delivered",
                dedup_key=f"config:{subscription.pk}:{hashlib.sha256(config.encode()).hexdigest()[:16]}",
                context={"plan": subscription.plan.name, "expires_at": expires.isoformat(), "label": subscription.label},
                text=lambda: _delivery_text(subscription, expires, config))
    return subscription


def _delivery_text(subscription: Subscription, expires: datetime, config: str) -> str:
    values = {"plan": subscription.plan.name, "date": format_date(expires, subscription.customer),
              "config": config_html(config), "label": html.escape(subscription.label)}
    if subscription.resold:  # for the reseller: which of their customers' accounts this is
        return _("🔑 Account “%(label)s” (%(plan)s) is ready until %(date)s.\nIts config:\n<code>%(config)s</code>") % values
    return _("🔑 Your %(plan)s service is ready until %(date)s.\nYour config:\n<code>%(config)s</code>") % values


def subscription_announce_change(*, subscription_id: int, changed: list[str]) -> None:
    """An operator changed a subscription's expiry or status by hand: tell whoever keeps an
    account in step with it (the panels)."""
    changed = [name for name in changed if name in ("expires_at", "status")]
    if not changed:
        return
    subscription = Subscription.objects.select_related("customer").get(pk=subscription_id)
    events.emit("subscription_changed", customer=subscription.customer, subscription_id=subscription.pk,
                changed=changed, status=subscription.status, expires_at=subscription.expires_at.isoformat())


def subscription_expire_due(*, now: datetime | None = None) -> int:
    """Mark subscriptions whose time is over as expired (each once)."""
    now = now or timezone.now()
    count = 0
    ids = list(Subscription.objects.filter(status=Subscription.Status.ACTIVE, expires_at__lte=now).values_list("pk", flat=True)[:5000])
    for pk in ids:
        with transaction.atomic():
            if Subscription.objects.filter(pk=pk, status=Subscription.Status.ACTIVE).update(status=Subscription.Status.EXPIRED):
                sub = Subscription.objects.select_related("customer").get(pk=pk)
                events.emit("subscription_expired", customer=sub.customer, subscription_id=pk, plan_id=sub.plan_id)
                count += 1
    return count


NEW_LINK_PAUSE = 60  # seconds: a second "yes" (a double tap, the bot and the Mini App at once) makes no second link


def subscription_new_link(*, subscription: Subscription) -> str:
    """A new subscription link from the provisioner (the old one stops working), at most one per
    service every NEW_LINK_PAUSE seconds. NewLinkTooSoon for a second ask; ShopError when the
    provisioner cannot make one now."""
    key = f"shop:new-link:{subscription.pk}"
    if not cache.add(key, 1, timeout=NEW_LINK_PAUSE):
        raise NewLinkTooSoon(_("A new link was just made: it is in the message with your config."))
    try:
        return get_provisioner().regenerate_link(subscription) or ""
    except ProvisioningUnavailable as exc:
        cache.delete(key)
        raise ShopError(str(exc)) from None
