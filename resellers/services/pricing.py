"""A reseller's price for a plan: their own price for it, else their parent's price plus their
markup (a sub-reseller), else the list price less their tier's discount; never under the
parent's floor, never over the list price. The shop's price_quote asks it when a quote is for
resale (reseller_price_adjust, registered in apps.ready)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from vpnbot.core.bounds import BASIS_POINTS
from vpnbot.shop import pricing as shop_pricing
from vpnbot.shop.models import Plan

from ..models import Reseller, ResellerPrice

MAX_CHAIN = 10  # a parent chain longer than this is cut (the model allows depth; the settings limit it)


def _own_prices(reseller_id: int) -> dict[int, int]:
    return shop_pricing.memo(("resellers:prices", reseller_id), lambda: dict(
        ResellerPrice.objects.filter(reseller_id=reseller_id).values_list("plan_id", "price_amount")))


def reseller_unit_price(reseller: Reseller, plan: Plan, *, _depth: int = 0) -> int:
    """The price of one period of `plan` for `reseller` (a whole amount, rounded down)."""
    list_price = plan.price_amount
    own = _own_prices(reseller.pk).get(plan.pk)
    parent = reseller.parent if reseller.parent_id and _depth < MAX_CHAIN else None
    if own is not None:
        price = own
    elif parent is not None:
        base = reseller_unit_price(parent, plan, _depth=_depth + 1)
        price = base + base * reseller.markup_bp // BASIS_POINTS
    else:
        price = list_price - list_price * min(reseller.discount_bp, BASIS_POINTS) // BASIS_POINTS
    if parent is not None and parent.floor_bp:
        price = max(price, list_price * min(parent.floor_bp, BASIS_POINTS) // BASIS_POINTS)
    return min(price, list_price)


def reseller_price_adjust(quote, *, customer, plan, at, code: str = "") -> None:
    """The shop's price adjuster: on a quote for resale, the reseller's price as a discount off
    the list price (label "Reseller price", ref reseller:<id>)."""
    if not quote.resale or customer is None or not settings.ENABLE_RESELLERS:
        return
    reseller = (Reseller.objects.select_related("parent__parent").filter(customer_id=customer.pk, is_active=True).first())
    if reseller is None:
        return
    unit = reseller_unit_price(reseller, plan)
    off = quote.list_amount - unit * quote.quantity
    if off > 0:
        quote.discounts.insert(0, shop_pricing.AppliedDiscount(label=_("Reseller price"), amount=off,
                                                               ref=f"reseller:{reseller.pk}"))
