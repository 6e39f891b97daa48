"""Personalized offers: segment rules -> single-use codes made through the discounts app, the
admins' win-back button, and the message that tells the customer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from discounts import services as discount_services
from vpnbot.core import bounds
from vpnbot.shop import messaging
from vpnbot.shop.formatting import format_date
from vpnbot.shop.models import Customer

from ..models import CustomerJourney, PersonalizedOffer, UserActivity, UserProfile
from .errors import CrmError

log = logging.getLogger(__name__)
OFFERS_PER_RUN = 300


@dataclass(frozen=True)
class OfferRule:
    kind: str
    segment: str
    stage: str  # the journey stage whose entry is the episode (one offer per episode)


RULES = (
    OfferRule(PersonalizedOffer.Kind.RENEWAL, "at_risk", "at_risk"),
    OfferRule(PersonalizedOffer.Kind.WIN_BACK, "churned", "churned"),
    OfferRule(PersonalizedOffer.Kind.VIP_CASHBACK, "vip", ""),
)


def rule_terms(kind: str) -> tuple[int, timedelta]:
    if kind == PersonalizedOffer.Kind.RENEWAL:
        return settings.CRM_RENEWAL_OFFER_BP, timedelta(hours=settings.CRM_RENEWAL_OFFER_HOURS)
    if kind == PersonalizedOffer.Kind.WIN_BACK:
        return settings.CRM_WINBACK_OFFER_BP, timedelta(hours=settings.CRM_WINBACK_OFFER_HOURS)
    if kind == PersonalizedOffer.Kind.VIP_CASHBACK:
        return settings.CRM_VIP_CASHBACK_BP, timedelta(days=settings.CRM_VIP_CASHBACK_DAYS)
    raise CrmError(_("Unknown offer kind."))


def _label(kind: str, percent_bp: int) -> str:
    percent = f"{percent_bp / 100:g}%"
    return {
        PersonalizedOffer.Kind.RENEWAL: f"CRM renewal {percent}",
        PersonalizedOffer.Kind.WIN_BACK: f"CRM win-back {percent}",
        PersonalizedOffer.Kind.VIP_CASHBACK: f"CRM VIP cashback {percent}",
    }.get(kind, f"CRM offer {percent}")


def offer_create(*, customer, kind: str, percent_bp: int | None = None, valid_for: timedelta | None = None,
                 episode: int | None = None, dedup_key: str | None = None, segment: str = "",
                 now: datetime | None = None) -> PersonalizedOffer:
    """Make one single-use code (or a personal cashback rule for VIP) for a customer, once per
    dedup key. Raises CrmError on bad terms."""
    now = now or timezone.now()
    if kind not in PersonalizedOffer.Kind.values:
        raise CrmError(_("Unknown offer kind."))
    if percent_bp is None or valid_for is None:
        default_bp, default_valid = rule_terms(kind)
        percent_bp = default_bp if percent_bp is None else percent_bp
        valid_for = valid_for or default_valid
    percent_bp = int(percent_bp)
    if not 1 <= percent_bp <= 10000:
        raise CrmError(_("The percentage must be between 0.01% and 100%."))
    if valid_for <= timedelta(0):
        raise CrmError(_("The offer must be valid for some time."))
    if valid_for > timedelta(days=bounds.MAX_DAYS):  # now + 10**9 hours is past year 9999
        raise CrmError(_("An offer is valid for at most %(days)s days.") % {"days": f"{bounds.MAX_DAYS:,}"})
    if dedup_key is None:
        suffix = episode if episode is not None else f"{now:%Y%m%d%H%M%S%f}"
        dedup_key = f"{kind}:{customer.pk}:{suffix}"
    dedup_key = dedup_key[:80]
    existing = PersonalizedOffer.objects.filter(dedup_key=dedup_key).first()
    if existing:
        return existing
    valid_until = now + valid_for
    profile = UserProfile.objects.filter(customer=customer).only("favourite_plan_id").first()
    try:
        with transaction.atomic():
            offer = PersonalizedOffer.objects.create(
                customer=customer, kind=kind, segment=segment, percent_bp=percent_bp, valid_until=valid_until,
                dedup_key=dedup_key, episode=episode, created_at=now,
                plan_id=profile.favourite_plan_id if profile else None)
            if kind == PersonalizedOffer.Kind.VIP_CASHBACK:
                rule = discount_services.cashback_rule_create_personal(customer=customer, percent_bp=percent_bp,
                                                               valid_until=valid_until, label=_label(kind, percent_bp))
                offer.discount_ref = f"cashback_rule:{rule.pk}"
            else:
                discount = discount_services.discount_create_code(
                    label=_label(kind, percent_bp), percent_bp=percent_bp, valid_until=valid_until, customer=customer,
                    max_uses=1, per_customer_limit=1, source="crm")
                offer.code = discount.code
                offer.discount_ref = f"discount:{discount.pk}"
            offer.save(update_fields=["code", "discount_ref"])
            UserActivity.objects.create(customer=customer, kind=UserActivity.Kind.OFFER_SENT, ref=f"offer:{offer.pk}",
                                        created_at=now)
    except IntegrityError:
        return PersonalizedOffer.objects.get(dedup_key=dedup_key)
    return offer


def offers_expire(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return PersonalizedOffer.objects.filter(status=PersonalizedOffer.Status.ACTIVE, valid_until__lte=now).update(
        status=PersonalizedOffer.Status.EXPIRED)


def offers_generate(*, now: datetime | None = None, limit: int = OFFERS_PER_RUN) -> int:
    """Apply the segment rules: one renewal code per At Risk episode, one win-back code per
    Churned episode, one VIP cashback per period. At most `limit` per rule per run."""
    now = now or timezone.now()
    made = 0
    for rule in RULES:
        percent_bp, valid_for = rule_terms(rule.kind)
        if percent_bp <= 0:
            continue
        profiles = UserProfile.objects.filter(segment=rule.segment, customer__blocked_at__isnull=True)
        if rule.stage:
            last_step = CustomerJourney.objects.filter(customer_id=OuterRef("customer_id"), stage=rule.stage
                                                       ).order_by("-at", "-id").values("id")[:1]
            profiles = profiles.annotate(episode=Subquery(last_step)).exclude(Exists(PersonalizedOffer.objects.filter(
                customer_id=OuterRef("customer_id"), kind=rule.kind, episode=OuterRef("episode"))))
        else:
            period = int(now.timestamp()) // (86400 * max(1, settings.CRM_VIP_CASHBACK_DAYS))
            profiles = profiles.exclude(Exists(PersonalizedOffer.objects.filter(
                customer_id=OuterRef("customer_id"), kind=rule.kind, episode=period)))
        for profile in profiles.select_related("customer").order_by("customer_id")[:limit]:
            episode = profile.episode if rule.stage else period
            try:
                offer = offer_create(customer=profile.customer, kind=rule.kind, percent_bp=percent_bp,
                                     valid_for=valid_for, episode=episode,
                                     dedup_key=f"{rule.kind}:{profile.customer_id}:{episode}", segment=rule.segment,
                                     now=now)
                offer_notify(offer=offer)
                made += 1
            except CrmError as exc:
                log.warning("crm offer for customer %s not made: %s", profile.customer_id, exc)
    return made


def offer_buy_action(offer: PersonalizedOffer) -> str:
    """callback_data that starts the purchase with the code applied (the shop's buy:p:<plan>:<code>)."""
    if offer.code and offer.plan_id and offer.plan and offer.plan.is_active:
        data = f"buy:p:{offer.plan_id}:{offer.code}"
        if len(data.encode()) <= 64:
            return data
    return ""


def offer_send_winback(*, customer, now: datetime | None = None) -> tuple[PersonalizedOffer, bool]:
    """An admin's button: a renewal (At Risk) or win-back (Churned) code for this customer,
    once per episode, and a message telling them. Returns (offer, created)."""
    with transaction.atomic():
        # the customer's row is locked while we look for an active offer and make one, so two
        # admins pressing at once make one offer (the second sees the first's)
        list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True))
        return _offer_send_winback(customer=customer, now=now or timezone.now())


def _offer_send_winback(*, customer, now: datetime) -> tuple[PersonalizedOffer, bool]:
    profile = UserProfile.objects.filter(customer=customer).first()
    kind = PersonalizedOffer.Kind.WIN_BACK if profile and profile.segment == "churned" else PersonalizedOffer.Kind.RENEWAL
    stage = "churned" if kind == PersonalizedOffer.Kind.WIN_BACK else "at_risk"
    episode = (CustomerJourney.objects.filter(customer=customer, stage=stage).order_by("-at", "-id")
               .values_list("id", flat=True).first())
    existing = PersonalizedOffer.objects.filter(customer=customer, kind=kind, status=PersonalizedOffer.Status.ACTIVE,
                                                valid_until__gt=now).first()
    if existing:
        return existing, False
    dedup_key = f"{kind}:{customer.pk}:{episode}" if episode else None
    before = PersonalizedOffer.objects.filter(dedup_key=dedup_key).exists() if dedup_key else False
    if before:  # this episode's offer was used or expired: a fresh one, chosen by the admin
        # (not None: offer_create would rebuild the episode's key and hand back the spent offer)
        dedup_key = f"{kind}:{customer.pk}:{episode}:{now:%Y%m%d%H%M%S%f}"
    offer = offer_create(customer=customer, kind=kind, episode=episode, dedup_key=dedup_key,
                         segment=profile.segment if profile else "", now=now)
    offer_notify(offer=offer)
    return offer, True


def offer_notify(*, offer: PersonalizedOffer) -> None:
    """Tell the customer about an offer (through the message port, in their language)."""
    customer = offer.customer

    def text() -> str:
        values = {"percent": f"{offer.percent_bp / 100:g}", "code": offer.code,
                  "date": format_date(offer.valid_until, customer)}
        if offer.code:
            return _("🎁 A gift for you: %(percent)s%% off with code %(code)s until %(date)s. See /my_offers.") % values
        return _("💎 A gift for you: %(percent)s%% cashback on your purchases until %(date)s.") % values

    def buttons():
        action = offer_buy_action(offer)
        return [[(_("🛒 Buy %(plan)s") % {"plan": offer.plan.name}, action)]] if action else None

    messaging.notify_customer(customer, kind="new_discount", text=text, buttons=buttons, context={"code": offer.code},
                              dedup_key=f"crm:offer:{offer.pk}", source="crm:offer")
