"""Discount profiles and loyalty levels: recounting a customer's spend, savings and cashback,
catching up on orders paid while smart discounts were off, and telling a customer who moved up."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.shop import messaging
from vpnbot.shop.models import Customer, Order

from .. import selectors
from ..models import CashbackTransaction, UserDiscountProfile
from .rules import LEVELS, enabled, level_for, level_label, loyalty_thresholds, value_text


def profile_recompute(*, customer_id: int) -> tuple[UserDiscountProfile, str]:
    """Recount a customer's discount profile from their orders and cashback (idempotent).
    Returns the profile and the level it had before."""
    agg = Order.objects.filter(customer_id=customer_id, status__in=[Order.Status.PAID, Order.Status.REFUNDED]).aggregate(
        paid=Count("id", filter=Q(status=Order.Status.PAID)), paid_sum=Sum("paid_amount"),
        refunded_sum=Sum("refunded_amount"), saved=Sum("discount_amount", filter=Q(status=Order.Status.PAID)))
    cash = CashbackTransaction.objects.filter(customer_id=customer_id, status__in=[
        CashbackTransaction.Status.CREDITED, CashbackTransaction.Status.REVERSED]).aggregate(
        credited=Sum("amount"), reversed=Sum("reversed_amount"), unrecovered=Sum("unrecovered_amount"))
    spend = max(0, (agg["paid_sum"] or 0) - (agg["refunded_sum"] or 0))
    earned = max(0, (cash["credited"] or 0) - (cash["reversed"] or 0) - (cash["unrecovered"] or 0))
    values = {"level": level_for(spend), "lifetime_spend_amount": spend, "total_saved_amount": agg["saved"] or 0,
              "cashback_earned_amount": earned, "paid_orders": agg["paid"] or 0, "updated_at": timezone.now()}
    profile = UserDiscountProfile.objects.select_for_update().filter(customer_id=customer_id).first()
    if profile is None:
        try:
            with transaction.atomic():
                profile = UserDiscountProfile.objects.create(customer_id=customer_id, **values)
            return profile, "bronze"
        except IntegrityError:
            profile = UserDiscountProfile.objects.select_for_update().get(customer_id=customer_id)
    before = profile.level
    UserDiscountProfile.objects.filter(pk=profile.pk).update(**values)
    for key, value in values.items():
        setattr(profile, key, value)
    return profile, before


def profile_recompute_and_tell(*, customer_id: int, customer: Customer | None = None) -> UserDiscountProfile:
    """Recount the profile and, when the customer reached a higher level, tell them."""
    profile, before = profile_recompute(customer_id=customer_id)
    if LEVELS.index(profile.level) > LEVELS.index(before):
        _tell_new_level(customer or Customer.objects.get(pk=customer_id), profile.level)
    return profile


def _orders_since_profile(customer_id, updated_at):
    """The customer's orders paid or refunded after their profile was last counted."""
    return Order.objects.filter(customer_id=customer_id).filter(Q(paid_at__gt=updated_at) | Q(refunded_at__gt=updated_at))


def profile_get(*, customer: Customer) -> UserDiscountProfile:
    """The customer's profile, recounted first when missing or stale (orders paid while smart
    discounts were switched off are not counted by on_order_paid)."""
    profile = UserDiscountProfile.objects.filter(customer=customer).first()
    if profile is None or _orders_since_profile(customer.pk, profile.updated_at).exists():
        with transaction.atomic():
            profile, _before = profile_recompute(customer_id=customer.pk)
    return profile


def profiles_catch_up(*, limit: int = 500) -> int:
    """Recount the profiles that went stale while smart discounts were switched off (the
    beat job; does nothing while they still are): those with an order paid or refunded after
    their last count, and the customers with paid orders but no profile yet. A customer who
    reached a higher level meanwhile is told, as on_order_paid would have. Returns how many
    were recounted; safe to overlap (profile_recompute locks the row and is idempotent)."""
    if not enabled():
        return 0
    newer = _orders_since_profile(OuterRef("customer_id"), OuterRef("updated_at"))
    stale = list(UserDiscountProfile.objects.filter(Exists(newer)).order_by("updated_at")
                 .values_list("customer_id", flat=True)[:limit])
    if len(stale) < limit:
        bought = Order.objects.filter(customer_id=OuterRef("pk"), status__in=[Order.Status.PAID, Order.Status.REFUNDED])
        stale += list(Customer.objects.filter(Exists(bought), discount_profile__isnull=True).order_by("pk")
                      .values_list("pk", flat=True)[:limit - len(stale)])
    for customer_id in stale:
        with transaction.atomic():
            profile_recompute_and_tell(customer_id=customer_id)
    return len(stale)


def next_level(profile: UserDiscountProfile) -> tuple[str, int] | None:
    """(next level, amount still to spend), or None at the top."""
    for name, threshold in loyalty_thresholds():
        if threshold > profile.lifetime_spend_amount:
            return name, threshold - profile.lifetime_spend_amount
    return None


def _tell_new_level(customer: Customer, level: str) -> None:
    offers = selectors.loyalty_discounts(level=level)
    if not offers:
        return
    best = max(offers, key=lambda d: (d.percent_bp or 0, d.fixed_amount or 0))

    def text():
        return _("🏅 You reached the %(level)s level! You now get %(value)s off your purchases. See /available_discounts.") % {
            "level": level_label(level), "value": value_text(best)}

    messaging.notify_customer(customer, kind="new_discount", text=text, dedup_key=f"level:{customer.pk}:{level}",
                              context={"level": level, "discount_id": best.pk})

