"""Plans and prices: which plan may be bought, in which quantities, at what price, and deleting
a plan nobody has bought. The price itself comes from pricing.price_quote and its adjusters."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from vpnbot.core import bounds

from .. import pricing, selectors
from ..models import Customer, Plan
from .errors import ShopError

log = logging.getLogger(__name__)
QUANTITIES = (1, 3, 6, 12)
# the plan's numbers an order is made of (a plan row written before the bounds, or around them
# with .update(), may hold one no order can be made of)
PLAN_NUMBERS = ("duration_days", "traffic_gb", "device_limit", "price_amount")


def plan_get_active(plan_id) -> Plan:
    """The plan if it is on sale; a ShopError for the customer otherwise."""
    try:
        plan_id = int(plan_id)
    except (TypeError, ValueError):
        raise ShopError(_("This plan is not available.")) from None
    plan = selectors.plan_active(plan_id)
    if plan is None:
        raise ShopError(_("This plan is not available any more. See /plans."))
    plan_check_numbers(plan)
    return plan


def plan_check_numbers(plan: Plan) -> None:
    """A ShopError for the customer when the plan holds a number out of its bounds (stored
    before the bounds existed, or around them): no order is made of it, and the operators
    find the reason in the log."""
    try:
        bounds.check(plan, *PLAN_NUMBERS)
    except ValidationError as exc:
        log.warning("plan %s cannot be sold, a number is out of bounds: %s", plan.pk, exc.message_dict)
        raise ShopError(_("This plan cannot be bought right now. Please choose another plan, or ask the shop "
                          "about it.")) from None


def quantities_for(plan: Plan) -> tuple[int, ...]:
    """The quantities one order of this plan may have (at most MAX_ORDER_DAYS of service)."""
    return tuple(q for q in QUANTITIES if plan.duration_days * q <= bounds.MAX_ORDER_DAYS)


def check_order_terms(plan: Plan, quantity) -> int:
    """The quantity, when an order of it can be made of this plan: the plan's numbers within
    their bounds, the quantity one of QUANTITIES, and at most MAX_ORDER_DAYS of service (so the
    subscription's end date stays a date); a ShopError for the customer otherwise."""
    quantity = validate_quantity(quantity)
    plan_check_numbers(plan)
    if plan.duration_days * quantity > bounds.MAX_ORDER_DAYS:
        raise ShopError(_("One order buys at most %(days)s days of service; choose fewer periods.")
                        % {"days": f"{bounds.MAX_ORDER_DAYS:,}"})
    return quantity


def plan_delete(*, plan_id: int) -> None:
    """Delete a plan nobody has bought. One with orders or subscriptions stays (their records
    need it): the ShopError says to deactivate it, also when an order arrives meanwhile."""
    in_use = _("This plan has orders; deactivate it (is_active) instead of deleting it.")
    try:
        with transaction.atomic():
            plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
            if plan is None:
                return
            if plan.orders.exists() or plan.subscriptions.exists():
                raise ShopError(in_use)
            plan.delete()
    except (ProtectedError, RestrictedError, IntegrityError):  # an order came between the check and the delete
        raise ShopError(in_use) from None


def validate_quantity(quantity) -> int:
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise ShopError(_("Choose 1, 3, 6 or 12 periods.")) from None
    if quantity not in QUANTITIES:
        raise ShopError(_("Choose 1, 3, 6 or 12 periods."))
    return quantity


def price_quote(customer: Customer, plan: Plan, quantity: int, at: datetime | None = None, *, code: str = ""):
    return pricing.price_quote(customer, plan, check_order_terms(plan, quantity), at, code=code)
