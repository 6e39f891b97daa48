"""Campaign delivery: who a campaign reaches, the message each recipient gets, and the run
that writes one CampaignRecipient per customer through the shop's message port."""

from __future__ import annotations

import logging
import string
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from discounts import conditions
from discounts import services as discount_services
from vpnbot.shop import messaging
from vpnbot.shop.formatting import format_date
from vpnbot.shop.models import Customer

from ..models import Campaign, CampaignRecipient, PersonalizedOffer, UserActivity
from .offers import offer_create

log = logging.getLogger(__name__)
CAMPAIGN_BATCH = 500


# --- audience --------------------------------------------------------------------------------

def _condition_ctx(customer, now: datetime) -> dict:
    """The context the discounts' condition engine evaluates (its own builder)."""
    facts = discount_services.customer_facts(customer, with_usage=False)
    return discount_services.condition_context(customer=customer, plan=None, quantity=1, amount=0, at=now, facts=facts)


def campaign_audience(campaign: Campaign):
    """Customers the campaign targets by segment (the condition tree is checked per customer
    at delivery). Customers who blocked the bot are left out."""
    qs = Customer.objects.filter(blocked_at__isnull=True)
    if campaign.segments:
        qs = qs.filter(crm_profile__segment__in=campaign.segments)
    return qs.order_by("pk")


def _matches(campaign: Campaign, customer, now: datetime) -> bool:
    if not campaign.condition:
        return True
    return bool(conditions.evaluate(campaign.condition, _condition_ctx(customer, now)))


def campaign_count(campaign: Campaign, *, now: datetime | None = None) -> int:
    now = now or timezone.now()
    qs = campaign_audience(campaign)
    if not campaign.condition:
        return qs.count()
    return sum(1 for customer in qs.iterator(chunk_size=1000) if _matches(campaign, customer, now))


# --- the message ------------------------------------------------------------------------------

class _Safe(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def campaign_render(campaign: Campaign, customer, offer: PersonalizedOffer | None = None) -> str:
    values = _Safe(first_name=customer.first_name or customer.username or "", username=customer.username or "",
                   code=offer.code if offer else "", percent=f"{offer.percent_bp / 100:g}" if offer else "",
                   valid_until=format_date(offer.valid_until, customer) if offer else "")
    try:
        return string.Formatter().vformat(campaign.text, (), values)
    except (ValueError, IndexError, KeyError):
        return campaign.text


def campaign_buttons(campaign: Campaign, recipient: CampaignRecipient | None) -> list[list[tuple[str, str]]]:
    rows = [[(label, f"url:{url}")] for label, url in campaign.buttons or []]
    if recipient is not None and (campaign.offer_percent_bp or not rows):
        label = _("🎁 Use my offer") if campaign.offer_percent_bp else _("🛒 See the plans")
        rows.insert(0, [(label, f"crm:c:{recipient.pk}")])
    return rows


# --- sending -----------------------------------------------------------------------------------

def campaigns_due(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(Campaign.objects.filter(Q(status=Campaign.Status.SCHEDULED, scheduled_for__lte=now)
                                        | Q(status=Campaign.Status.SENDING)).values_list("pk", flat=True))


def campaign_deliver(*, campaign_id: int, now: datetime | None = None) -> int:
    """Deliver a due campaign: one CampaignRecipient per customer (unique), each linked to its
    notification. Safe to run twice or concurrently: a recipient that exists is skipped."""
    now = now or timezone.now()
    claimed = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SCHEDULED, scheduled_for__lte=now).update(
        status=Campaign.Status.SENDING, started_at=now)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:  # deleted after the task was queued
        log.warning("campaign %s: no such campaign; nothing delivered", campaign_id)
        return 0
    if not claimed and campaign.status != Campaign.Status.SENDING:
        return 0
    created = 0
    done_ids = CampaignRecipient.objects.filter(campaign=campaign).values("customer_id")
    for customer in campaign_audience(campaign).exclude(pk__in=done_ids).iterator(chunk_size=CAMPAIGN_BATCH):
        if not _matches(campaign, customer, now):
            continue
        try:
            if _deliver_one(campaign, customer, now):
                created += 1
        except _Stopped:
            log.info("campaign %s: stopped after %s recipients", campaign.pk, created)
            return created
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING).update(
        status=Campaign.Status.SENT, finished_at=timezone.now())
    log.info("campaign %s: %s recipients added", campaign.pk, created)
    return created


class _Stopped(Exception):
    """The campaign was stopped (or finished by another run) while being delivered."""


def _deliver_one(campaign: Campaign, customer, now: datetime) -> bool:
    try:
        with transaction.atomic():
            # the campaign's row lock: a stop waits for this recipient, or this one sees the stop
            if not Campaign.objects.select_for_update().filter(pk=campaign.pk, status=Campaign.Status.SENDING).exists():
                raise _Stopped
            recipient = CampaignRecipient.objects.create(campaign=campaign, customer=customer, created_at=now)
            offer = None
            if campaign.offer_percent_bp:
                offer = offer_create(customer=customer, kind=PersonalizedOffer.Kind.CAMPAIGN,
                                     percent_bp=campaign.offer_percent_bp,
                                     valid_for=timedelta(hours=campaign.offer_valid_hours),
                                     dedup_key=f"campaign:{campaign.pk}:{customer.pk}", now=now)
                recipient.offer = offer
            text = campaign_render(campaign, customer, offer)
            buttons = campaign_buttons(campaign, recipient)
            queued = messaging.notify_customer(
                customer, kind="campaign", context={"campaign_id": campaign.pk}, text=escape(text),
                dedup_key=f"campaign:{campaign.pk}:{customer.pk}", buttons=buttons or None, photo=campaign.photo,
                urgent=campaign.urgent, source=f"crm:campaign:{campaign.pk}")
            recipient.notification_id = queued.message_id if queued else None
            if queued is None:
                recipient.status = CampaignRecipient.Status.SKIPPED
            elif queued.message_id is None:  # handed straight to the sender: nothing more to follow
                recipient.status = CampaignRecipient.Status.SENT
            else:
                recipient.status = CampaignRecipient.Status.PENDING
            recipient.save(update_fields=["offer", "notification_id", "status"])
    except IntegrityError:
        return False  # another run made this recipient
    return True


def recipient_press(*, recipient_id: int, customer) -> CampaignRecipient | None:
    """The customer pressed the campaign's button: counted once, and only while the CRM is on
    (off, nothing is recorded: neither the press nor the activity)."""
    recipient = CampaignRecipient.objects.filter(pk=recipient_id, customer=customer).select_related(
        "offer", "offer__plan", "campaign").first()
    if recipient is None or not settings.ENABLE_CRM:
        return recipient
    if CampaignRecipient.objects.filter(pk=recipient.pk, pressed_at__isnull=True).update(pressed_at=timezone.now()):
        UserActivity.objects.create(customer=customer, kind=UserActivity.Kind.CAMPAIGN_PRESSED,
                                    ref=f"campaign:{recipient.campaign_id}")
    return recipient
