"""What an operator decides: release a held case (the reward or the trial is granted then, a
receipt or refund goes through without another confirmation) or confirm its hold; ban and
unban a customer; trust one (the whitelist). Every decision is a RiskDecision."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vpnbot.shop import events, messaging
from vpnbot.shop import services as shop
from vpnbot.shop.models import Customer

from ..models import Ban, RiskCase, RiskDecision, Whitelist
from .assess import case_decide

log = logging.getLogger(__name__)


class AntifraudError(Exception):
    """A refusal with a message for the operator."""


def _why(why: str) -> str:
    why = (why or "").strip()
    if not why:
        raise AntifraudError(_("Please give a reason."))
    if len(why) > 500:
        raise AntifraudError(_("The reason is too long (500 characters at most)."))
    return why


def _open_case(case_id: int) -> RiskCase:
    case = RiskCase.objects.select_for_update().select_related("customer").filter(pk=case_id).first()
    if case is None:
        raise AntifraudError(_("This case does not exist."))
    if case.status not in RiskCase.OPEN:
        raise AntifraudError(_("This case is already %(status)s.") % {"status": case.get_status_display()})
    return case


def case_release(*, case_id: int, by: str, why: str) -> RiskCase:
    """Let a flagged or held subject go: a held referral reward is granted (once), a held trial
    starts and the customer is told; a receipt or a refund goes through on its next approval."""
    why = _why(why)
    with transaction.atomic():
        case = _open_case(case_id)
        case_decide(case, status=RiskCase.Status.RELEASED, by=by, why=why)
        if case.subject == RiskCase.Subject.REFERRAL and case.facts.get("order_id"):
            shop.referral_reward_release(referred_id=case.subject_id, order_id=int(case.facts["order_id"]))
        elif case.subject == RiskCase.Subject.TRIAL:
            _start_released_trial(case)
    return case


def _start_released_trial(case: RiskCase) -> None:
    try:
        with transaction.atomic():
            shop.trial_start(customer_id=case.subject_id, released=True)
    except shop.ShopError as exc:  # trials off meanwhile, or it was had: the release stands, nothing to start
        log.info("released trial of customer %s not started: %s", case.subject_id, exc)
        return
    messaging.notify_customer(
        case.customer, kind="message", dedup_key=f"trial-released:{case.pk}",
        text=lambda: _("🎁 Your free trial was approved and has started. See /my_services for your link."))


def case_confirm(*, case_id: int, by: str, why: str) -> RiskCase:
    """Confirm the hold: the referral reward is never paid, the trial is refused (the customer
    is told politely), a receipt or refund still needs a second confirmation to go through."""
    why = _why(why)
    with transaction.atomic():
        case = _open_case(case_id)
        case_decide(case, status=RiskCase.Status.CONFIRMED, by=by, why=why)
        if case.subject == RiskCase.Subject.TRIAL:
            messaging.notify_customer(
                case.customer, kind="message", dedup_key=f"trial-refused:{case.pk}",
                text=lambda: _("Sorry, we cannot offer you a free trial. See /plans to buy a service."))
    return case


# --- bans ------------------------------------------------------------------------------------------

def customer_ban(*, customer_id: int, by: str, reason: str) -> Ban:
    """Ban a customer (an operator's decision): the bot answers them once, politely, and then
    ignores them; their pending payments are frozen (not approved, not lost). Banning a banned
    customer changes nothing."""
    reason = _why(reason)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        ban = Ban.objects.filter(customer=customer, lifted_at__isnull=True).first()
        if ban is not None:
            return ban
        ban = Ban.objects.create(customer=customer, telegram_id=customer.telegram_id, reason=reason, by=by[:100])
        RiskDecision.objects.create(customer=customer, action="banned", by=by[:100], why=reason)
        with translation.override(settings.LANGUAGE_CODE):  # kept as text, in the shop's language
            why = _("the customer is banned: %(reason)s") % {"reason": reason}
        events.emit("customer_banned", customer=customer, why=why, by=by[:100])  # pending payments are frozen
    return ban


def customer_unban(*, customer_id: int, by: str, reason: str) -> Ban | None:
    """Lift the customer's ban; their frozen payments can be decided again. None when not banned."""
    reason = _why(reason)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        ban = Ban.objects.filter(customer=customer, lifted_at__isnull=True).first()
        if ban is None:
            return None
        ban.lifted_at, ban.lifted_by, ban.lift_reason = timezone.now(), by[:100], reason
        ban.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        RiskDecision.objects.create(customer=customer, action="unbanned", by=by[:100], why=reason)
        events.emit("customer_unbanned", customer=customer, by=by[:100])  # frozen payments go their way again
    return ban


def ban_gate(telegram_id: int) -> str | None:
    """The transport's gate: None for anyone not banned; for a banned customer their one polite
    answer the first time (claimed by a conditional UPDATE, so two updates at once answer once),
    then "" (silence)."""
    if not settings.ENABLE_ANTIFRAUD:
        return None
    ban = (Ban.objects.filter(telegram_id=telegram_id, lifted_at__isnull=True).select_related("customer")
           .only("pk", "told_at", "customer__language", "customer__telegram_language").first())
    if ban is None:
        return None
    if ban.told_at or not Ban.objects.filter(pk=ban.pk, told_at__isnull=True).update(told_at=timezone.now()):
        return ""
    return _polite(ban)


def _polite(ban: Ban) -> str:
    with translation.override(ban.customer.effective_language):
        return _("Sorry, this account can no longer use this bot. If you think this is a mistake, please contact "
                 "the shop's support.")


def ban_refusal(telegram_id: int) -> str | None:
    """The transport's refusal (the Mini App, a Stars pre-checkout): the polite answer every
    time for a banned customer, None for anyone else; nothing is written."""
    if not settings.ENABLE_ANTIFRAUD:
        return None
    ban = (Ban.objects.filter(telegram_id=telegram_id, lifted_at__isnull=True).select_related("customer")
           .only("pk", "customer__language", "customer__telegram_language").first())
    return None if ban is None else _polite(ban)


# --- the whitelist --------------------------------------------------------------------------------

def customer_whitelist(*, customer_id: int, by: str, why: str) -> Whitelist:
    why = _why(why)
    with transaction.atomic():
        entry, created = Whitelist.objects.get_or_create(customer_id=customer_id, defaults={"by": by[:100], "why": why})
        if created:
            RiskDecision.objects.create(customer_id=customer_id, action="whitelisted", by=by[:100], why=why)
    return entry


def customer_unwhitelist(*, customer_id: int, by: str, why: str) -> bool:
    why = _why(why)
    with transaction.atomic():
        deleted, _rows = Whitelist.objects.filter(customer_id=customer_id).delete()
        if deleted:
            RiskDecision.objects.create(customer_id=customer_id, action="unwhitelisted", by=by[:100], why=why)
    return bool(deleted)
