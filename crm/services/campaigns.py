"""Campaigns: a target, a message, an optional offer, a schedule; delivered once per customer
through the message port (the notifications outbox: rate-limited, quiet hours unless urgent)."""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from vpnbot.shop import messaging
from vpnbot.transport import messages

from ..models import Campaign, CampaignRecipient, PersonalizedOffer, Segment, UserActivity
from .offers import CrmError, DiscountsUnavailable, offer_create

log = logging.getLogger(__name__)
PLACEHOLDERS = ("first_name", "username", "code", "percent", "valid_until")
MAX_TEXT = 3500
CAMPAIGN_BATCH = 500


# --- validation ------------------------------------------------------------------------------

def validate_segments(segments) -> list[str]:
    if segments in (None, "", []):
        return []
    if isinstance(segments, str):
        segments = [s for s in segments.replace(" ", ",").split(",") if s]
    if not isinstance(segments, list | tuple):
        raise CrmError(_("Segments must be a list of segment names."))
    valid = set(Segment.values)
    out = []
    for segment in segments:
        key = str(segment).strip().lower().replace(" ", "_").replace("-", "_")
        if key not in valid:
            raise CrmError(_("Unknown segment %(name)s. Known: %(known)s.") % {
                "name": segment, "known": ", ".join(Segment.values)})
        if key not in out:
            out.append(key)
    return out


def validate_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise CrmError(_("The message is empty."))
    if len(text) > MAX_TEXT:
        raise CrmError(_("The message is too long (%(n)s characters at most).") % {"n": MAX_TEXT})
    try:
        names = {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}
    except ValueError:
        raise CrmError(_("The message has an unbalanced { or }. Write {{ and }} for literal braces.")) from None
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise CrmError(_("Unknown placeholder {%(name)s}. Known: %(known)s.") % {
            "name": unknown[0], "known": ", ".join("{" + p + "}" for p in PLACEHOLDERS)})
    return text


def validate_condition(condition) -> dict:
    if not condition:
        return {}
    try:
        from discounts import conditions
    except ImportError:
        raise CrmError(_("Conditions need the discounts app.")) from None
    try:
        conditions.validate(condition)
    except ValidationError as exc:
        raise CrmError("; ".join(exc.messages)) from None
    return condition


def validate_buttons(buttons) -> list:
    if not buttons:
        return []
    if not isinstance(buttons, list) or len(buttons) > 5:
        raise CrmError(_("Buttons must be a list of at most 5 [label, https URL] pairs."))
    out = []
    for item in buttons:
        if (not isinstance(item, list | tuple) or len(item) != 2 or not str(item[0]).strip()
                or not str(item[1]).startswith("https://") or len(str(item[0])) > 64 or len(str(item[1])) > 512):
            raise CrmError(_("Each button is [label, https URL]; this one is not: %(item)s") % {"item": item})
        out.append([str(item[0]).strip(), str(item[1])])
    return out


def campaign_clean(*, name: str, text: str, segments=None, condition=None, photo: str = "", buttons=None,
           offer_percent_bp: int = 0, offer_valid_hours: int = 72, urgent: bool = False,
           scheduled_for: datetime | None = None, conversion_days: int | None = None) -> dict:
    """A campaign's editable fields, checked and normalised (CrmError on bad input)."""
    name = (name or "").strip()[:100]
    if not name:
        raise CrmError(_("Give the campaign a name."))
    try:
        offer_percent_bp = int(offer_percent_bp or 0)
        offer_valid_hours = int(offer_valid_hours or 0)
    except (TypeError, ValueError):
        raise CrmError(_("The offer must be whole numbers.")) from None
    if not 0 <= offer_percent_bp <= 10000:
        raise CrmError(_("The offer percentage must be between 0 and 100%."))
    if offer_percent_bp and not 1 <= offer_valid_hours <= 24 * 90:
        raise CrmError(_("An offer is valid between 1 hour and 90 days."))
    conversion_days = settings.CRM_CONVERSION_DAYS if conversion_days is None else int(conversion_days)
    if not 1 <= conversion_days <= 90:
        raise CrmError(_("The conversion window is 1 to 90 days."))
    if scheduled_for is not None and timezone.is_naive(scheduled_for):
        raise CrmError(_("The schedule needs a time zone."))
    return dict(
        name=name, text=validate_text(text), segments=validate_segments(segments),
        condition=validate_condition(condition), photo=(photo or "").strip()[:255], buttons=validate_buttons(buttons),
        offer_percent_bp=offer_percent_bp, offer_valid_hours=offer_valid_hours or 72, urgent=bool(urgent),
        scheduled_for=scheduled_for, conversion_days=conversion_days)


def campaign_create(*, created_by: str = "", **fields) -> Campaign:
    return Campaign.objects.create(**campaign_clean(**fields), created_by=(created_by or "")[:100])


# --- audience --------------------------------------------------------------------------------

def _condition_ctx(customer, now: datetime) -> dict:
    """The context the discounts' condition engine evaluates (its own builder)."""
    from discounts.services import condition_context, customer_facts

    return condition_context(customer=customer, plan=None, quantity=1, amount=0, at=now,
                             facts=customer_facts(customer, with_usage=False))


def campaign_audience(campaign: Campaign):
    """Customers the campaign targets by segment (the condition tree is checked per customer
    at delivery). Customers who blocked the bot are left out."""
    from vpnbot.shop.models import Customer

    qs = Customer.objects.filter(blocked_at__isnull=True)
    if campaign.segments:
        qs = qs.filter(crm_profile__segment__in=campaign.segments)
    return qs.order_by("pk")


def _matches(campaign: Campaign, customer, now: datetime) -> bool:
    if not campaign.condition:
        return True
    try:
        from discounts import conditions
    except ImportError:
        return False
    return bool(conditions.evaluate(campaign.condition, _condition_ctx(customer, now)))


def campaign_count(campaign: Campaign, *, now: datetime | None = None) -> int:
    now = now or timezone.now()
    qs = campaign_audience(campaign)
    if not campaign.condition:
        return qs.count()
    return sum(1 for customer in qs.iterator(chunk_size=1000) if _matches(campaign, customer, now))


class _Safe(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def campaign_render(campaign: Campaign, customer, offer: PersonalizedOffer | None = None) -> str:
    from vpnbot.shop.services import format_date

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

def campaign_start(*, campaign_id: int, at: datetime | None = None) -> Campaign:
    """Schedule a draft for `at` (default: now, or its own scheduled_for). A due campaign is
    delivered right after commit; a later one by the beat job."""
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
            raise CrmError(_("This campaign is already %(status)s.") % {"status": campaign.get_status_display()})
        when = at or campaign.scheduled_for or now
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SCHEDULED, scheduled_for=when)
        campaign.status, campaign.scheduled_for = Campaign.Status.SCHEDULED, when
        if when <= now:
            from ..tasks import deliver_campaign

            transaction.on_commit(partial(deliver_campaign.delay, campaign.pk))
    return campaign


EDITABLE_FIELDS = ("name", "segments", "condition", "text", "photo", "buttons", "offer_percent_bp",
                   "offer_valid_hours", "urgent", "scheduled_for", "conversion_days")


def campaign_update(*, campaign_id: int, **changes) -> Campaign:
    """Change a draft. The row is locked while it is checked and written, so an edit racing
    a start is either applied before the campaign starts or refused; it can never put a
    running campaign back to draft (a whole-row save from a stale copy would)."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise CrmError(_("These fields cannot be changed: %(fields)s") % {"fields": ", ".join(unknown)})
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise CrmError(_("Only a draft can be changed; this campaign is %(status)s.")
                           % {"status": campaign.get_status_display()})
        # the same checks as campaign_create, on the campaign as it would become
        cleaned = campaign_clean(**{field: changes.get(field, getattr(campaign, field)) for field in EDITABLE_FIELDS})
        for field in changes:
            setattr(campaign, field, cleaned[field])
        if changes:
            campaign.save(update_fields=list(changes))
    return campaign


def campaign_delete(*, campaign_id: int) -> None:
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise CrmError(_("Only a draft can be deleted; cancel this one instead."))
        campaign.delete()


def campaign_cancel(*, campaign_id: int) -> bool:
    return bool(Campaign.objects.filter(pk=campaign_id, status__in=[Campaign.Status.DRAFT, Campaign.Status.SCHEDULED])
                .update(status=Campaign.Status.CANCELLED))


def campaign_stop(*, campaign_id: int) -> tuple[Campaign, int]:
    """Stop a campaign that is scheduled or sending (or sent, with messages still waiting in
    the outbox): it becomes cancelled, no more recipients are added, and the messages not yet
    sent are cancelled. Returns the campaign and how many messages were cancelled. Under the
    campaign's row lock, which the delivery also takes per recipient, so no recipient is
    added after the stop."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        stoppable = (Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.SENT)
        if campaign.status not in stoppable:
            raise CrmError(_("Only a scheduled or sending campaign can be stopped; this one is %(status)s.")
                           % {"status": campaign.get_status_display()})
        linked = CampaignRecipient.objects.filter(campaign=campaign, notification_id__isnull=False).values("notification_id")
        waiting = messages.outcomes(linked).get("pending", 0)
        if campaign.status == Campaign.Status.SENT and not waiting:
            raise CrmError(_("This campaign has finished sending; there is nothing left to stop."))
        now = timezone.now()
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED, finished_at=now)
        campaign.status, campaign.finished_at = Campaign.Status.CANCELLED, now
        cancelled = messages.cancel(linked, reason="campaign stopped") if waiting else 0
    log.info("campaign %s stopped: %s waiting message(s) cancelled", campaign.pk, cancelled)
    return campaign, cancelled


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
                try:
                    offer = offer_create(customer=customer, kind=PersonalizedOffer.Kind.CAMPAIGN,
                                         percent_bp=campaign.offer_percent_bp,
                                         valid_for=timedelta(hours=campaign.offer_valid_hours),
                                         dedup_key=f"campaign:{campaign.pk}:{customer.pk}", now=now)
                    recipient.offer = offer
                except DiscountsUnavailable:
                    log.warning("campaign %s: offer not attached, discounts unavailable", campaign.pk)
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


# --- stats ---------------------------------------------------------------------------------------

@dataclass
class CampaignStats:
    targeted: int = 0
    pending: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0
    pressed: int = 0
    converted: int = 0
    revenue_amount: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def campaign_stats(*, campaign: Campaign) -> CampaignStats:
    from vpnbot.shop.models import Order

    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    stats = CampaignStats(targeted=recipients.count(), pressed=recipients.filter(pressed_at__isnull=False).count())
    counts = dict(recipients.filter(notification_id__isnull=True).values_list("status").annotate(n=Count("id")))
    linked = recipients.filter(notification_id__isnull=False)
    for key, n in messages.outcomes(linked.values("notification_id")).items():
        counts[key] = counts.get(key, 0) + n
    for key in ("pending", "sent", "failed", "blocked", "skipped"):
        setattr(stats, key, int(counts.get(key, 0)))
    window = timedelta(days=campaign.conversion_days)
    orders = Order.objects.filter(
        status__in=[Order.Status.PAID, Order.Status.REFUNDED],
        customer__crm_campaigns__campaign=campaign,
        paid_at__gte=F("customer__crm_campaigns__created_at"),
        paid_at__lte=F("customer__crm_campaigns__created_at") + window,
    )
    agg = orders.aggregate(customers=Count("customer_id", distinct=True), revenue=Sum(F("paid_amount") - F("refunded_amount")))
    stats.converted = agg["customers"] or 0
    stats.revenue_amount = int(agg["revenue"] or 0)
    return stats
