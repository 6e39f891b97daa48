"""Plans and prices: which plan may be bought, in which quantities, at what price, and deleting
a plan nobody has bought. The price itself comes from pricing.price_quote and its adjusters."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from .. import pricing, selectors
from ..models import Customer, Plan
from .errors import ShopError

QUANTITIES = (1, 3, 6, 12)


def plan_get_active(plan_id) -> Plan:
    """The plan if it is on sale; a ShopError for the customer otherwise."""
    try:
        plan_id = int(plan_id)
    except (TypeError, ValueError):
        raise ShopError(_("This plan is not available.")) from None
    plan = selectors.plan_active(plan_id)
    if plan is None:
        raise ShopError(_("This plan is not available any more. See /plans."))
    return plan


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
    return pricing.price_quote(customer, plan, validate_quantity(quantity), at, code=code)
