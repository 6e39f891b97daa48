"""Read-only queries of the resellers app (handlers, the APIs and the admin read through these)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from vpnbot.shop.models import Customer, Plan

from .models import Account, Batch, Commission, Reseller, ResellerPrice, Token

PAGE = 8  # accounts per page in the bot


def reseller_for_customer(customer: Customer | int | None) -> Reseller | None:
    """The customer's reseller record if they are an active reseller."""
    if customer is None:
        return None
    customer_id = customer if isinstance(customer, int) else customer.pk
    return (Reseller.objects.select_related("customer", "parent__customer")
            .filter(customer_id=customer_id, is_active=True).first())


def reseller_customers() -> QuerySet[Customer]:
    """The active resellers, as customers: the "Resellers" audience of broadcasts and scheduled
    messages (registered in the shop's audience registry by the app's ready())."""
    return Customer.objects.filter(reseller__is_active=True)


def reseller_get(reseller_id) -> Reseller | None:
    return Reseller.objects.select_related("customer", "parent__customer").filter(pk=reseller_id).first()


def resellers() -> QuerySet[Reseller]:
    return Reseller.objects.select_related("customer", "parent__customer").order_by("-id")


def accounts_of(reseller_id: int, *, search: str = "", status: str = "") -> QuerySet[Account]:
    """The reseller's accounts, newest first; search: part of the label, or an account number."""
    qs = (Account.objects.filter(reseller_id=reseller_id)
          .select_related("subscription__plan", "first_subscription").order_by("-id"))
    search = (search or "").strip()[:64]
    if search:
        cond = Q(label__icontains=search)
        if search.lstrip("#").isdigit() and len(search) < 13:
            cond |= Q(pk=int(search.lstrip("#")))
        qs = qs.filter(cond)
    if status == "disabled":
        qs = qs.filter(disabled_at__isnull=False)
    return qs


def accounts_page(reseller_id: int, *, page: int = 1, search: str = "") -> tuple[list[Account], int]:
    """One page of the reseller's accounts for the bot, and the number of pages."""
    qs = accounts_of(reseller_id, search=search)
    total = qs.count()
    pages = max((total + PAGE - 1) // PAGE, 1)
    page = min(max(page, 1), pages)
    return list(qs[(page - 1) * PAGE: page * PAGE]), pages


def batch_of(reseller_id: int, batch_id) -> Batch | None:
    return Batch.objects.select_related("plan", "reseller__customer").filter(pk=batch_id, reseller_id=reseller_id).first()


def sub_resellers(reseller_id: int) -> list[Reseller]:
    return list(Reseller.objects.select_related("customer").filter(parent_id=reseller_id, is_active=True).order_by("pk"))


def prices_of(reseller: Reseller) -> dict[int, int]:
    return dict(ResellerPrice.objects.filter(reseller=reseller).values_list("plan_id", "price_amount"))


# --- the APIs and the admin ---------------------------------------------------------------------------

def resellers_overview(*, now: dt.datetime | None = None) -> QuerySet[Reseller]:
    """resellers() with `running` (their accounts running now) counted in the same query."""
    now = now or timezone.now()
    return resellers().annotate(running=Count(
        "accounts", filter=Q(accounts__subscription__status="active", accounts__subscription__expires_at__gt=now)))


def accounts_made_today(reseller_id: int, *, now: dt.datetime | None = None) -> int:
    """New accounts the reseller made today (the shop's day), as their daily limit counts them."""
    start = timezone.localtime(now or timezone.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    return Account.objects.filter(reseller_id=reseller_id, created_at__gte=start).count()


def plans_for_sale(reseller: Reseller) -> list[Plan]:
    """The plans on sale that this reseller may sell (their chosen plans, or every one)."""
    qs = Plan.objects.filter(is_active=True)
    allowed = list(reseller.plans.values_list("pk", flat=True))
    if allowed:
        qs = qs.filter(pk__in=allowed)
    return list(qs.order_by("sort_order", "pk"))


def plan_ids_of(reseller: Reseller) -> list[int]:
    return sorted(reseller.plans.values_list("pk", flat=True))


def commission_total(reseller_id: int) -> int:
    """What the reseller earned on their sub-resellers over all time, less what was taken back."""
    agg = Commission.objects.filter(reseller_id=reseller_id).aggregate(earned=Sum("amount"),
                                                                        back=Sum("reversed_amount"))
    return (agg["earned"] or 0) - (agg["back"] or 0)


def tokens_of(reseller_id: int) -> QuerySet[Token]:
    return Token.objects.filter(reseller_id=reseller_id).order_by("-id")
