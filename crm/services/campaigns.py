"""Campaigns, their life as an operator sees it: the fields checked, a draft created, changed,
deleted or cancelled, a campaign started and stopped (delivery is campaign_delivery)."""

from __future__ import annotations

import logging
import string
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from discounts import conditions
from vpnbot.core import bounds
from vpnbot.transport import messages

from ..models import Campaign, CampaignRecipient, Segment
from .errors import CrmError

log = logging.getLogger(__name__)
PLACEHOLDERS = ("first_name", "username", "code", "percent", "valid_until")
MAX_TEXT = 3500
EDITABLE_FIELDS = ("name", "segments", "condition", "text", "photo", "buttons", "offer_percent_bp",
                   "offer_valid_hours", "urgent", "scheduled_for", "conversion_days")
# the campaign's numbers and what is said when one is out of its bounds (vpnbot.core.bounds)
NUMBER_FIELDS = ("offer_percent_bp", "offer_valid_hours", "conversion_days")
OFFER_PERCENT_RANGE = gettext_lazy("The offer percentage must be between 0 and 100%.")
OFFER_HOURS_RANGE = gettext_lazy("An offer is valid between 1 hour and 90 days.")
CONVERSION_DAYS_RANGE = gettext_lazy("The conversion window is 1 to 90 days.")


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


FIELD_CHECKS = {"segments": validate_segments, "text": validate_text, "condition": validate_condition,
                "buttons": validate_buttons}


def campaign_check_fields(data: dict) -> dict[str, str]:
    """The fields of `data` that have a check of their own, checked and normalised in place
    (a form's or a serializer's data); returns the errors, field -> message."""
    errors = {}
    for field, check in FIELD_CHECKS.items():
        if field in data:
            try:
                data[field] = check(data[field])
            except CrmError as exc:
                errors[field] = str(exc)
    return errors


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
    if not 0 <= offer_percent_bp <= bounds.BASIS_POINTS:
        raise CrmError(OFFER_PERCENT_RANGE)
    if offer_percent_bp and not 1 <= offer_valid_hours <= bounds.MAX_OFFER_HOURS:
        raise CrmError(OFFER_HOURS_RANGE)
    conversion_days = settings.CRM_CONVERSION_DAYS if conversion_days is None else int(conversion_days)
    if not 1 <= conversion_days <= bounds.MAX_CONVERSION_DAYS:
        raise CrmError(CONVERSION_DAYS_RANGE)
    if scheduled_for is not None and timezone.is_naive(scheduled_for):
        raise CrmError(_("The schedule needs a time zone."))
    return dict(
        name=name, text=validate_text(text), segments=validate_segments(segments),
        condition=validate_condition(condition), photo=(photo or "").strip()[:255], buttons=validate_buttons(buttons),
        offer_percent_bp=offer_percent_bp, offer_valid_hours=offer_valid_hours or 72, urgent=bool(urgent),
        scheduled_for=scheduled_for, conversion_days=conversion_days)


def campaign_create(*, created_by: str = "", **fields) -> Campaign:
    return Campaign.objects.create(**campaign_clean(**fields), created_by=(created_by or "")[:100])


# --- the campaign's life --------------------------------------------------------------------

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


def campaign_save_edited(*, campaign: Campaign, fields: list[str]) -> str | None:
    """Save the admin form's edited fields of a draft or scheduled campaign, under its row
    lock: one that started meanwhile keeps its status and timestamps instead of being
    overwritten from the form's stale copy. Returns None when saved, else its status now."""
    with transaction.atomic():
        status = Campaign.objects.select_for_update().values_list("status", flat=True).get(pk=campaign.pk)
        if status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
            return status
        if fields:
            campaign.save(update_fields=fields)
    return None


def campaign_delete(*, campaign_id: int) -> None:
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise CrmError(_("Only a draft can be deleted; cancel this one instead."))
        campaign.delete()


def campaign_cancel(*, campaign_id: int) -> bool:
    return bool(Campaign.objects.filter(pk=campaign_id, status__in=[Campaign.Status.DRAFT, Campaign.Status.SCHEDULED])
                .update(status=Campaign.Status.CANCELLED))


def campaign_start(*, campaign_id: int, at: datetime | None = None) -> Campaign:
    """Schedule a draft for `at` (default: now, or its own scheduled_for). A due campaign is
    delivered right after commit; a later one by the beat job."""
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
            raise CrmError(_("This campaign is already %(status)s.") % {"status": campaign.get_status_display()})
        _check_stored_numbers(campaign)
        when = at or campaign.scheduled_for or now
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SCHEDULED, scheduled_for=when)
        campaign.status, campaign.scheduled_for = Campaign.Status.SCHEDULED, when
        if when <= now:
            from ..tasks import deliver_campaign  # a real import cycle: crm.tasks imports the services

            transaction.on_commit(partial(deliver_campaign.delay, campaign.pk))
    return campaign


def _check_stored_numbers(campaign: Campaign) -> None:
    """A campaign stored with a number out of its bounds (written before the bounds, or around
    them) is not sent: its delivery would fail on it (an offer valid for 10**9 hours ends after
    year 9999). CrmError naming the fields, for the operator to correct them."""
    try:
        bounds.check(campaign, *NUMBER_FIELDS)
    except ValidationError as exc:
        raise CrmError(_("Campaign #%(id)s has numbers out of bounds (%(fields)s); correct them before sending it.")
                       % {"id": campaign.pk, "fields": ", ".join(sorted(exc.message_dict))}) from None


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
