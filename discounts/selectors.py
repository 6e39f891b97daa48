"""Read-only queries of smart discounts, shared by the bot, the admin, the API and the services:
lists for display, the discounts on offer to a customer, and the statistics with their chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from vpnbot.core.charts import chart_png
from vpnbot.shop.models import Customer, Order

from .errors import DiscountError
from .models import CashbackTransaction, DiscountUsage, SmartDiscount


def discount_count() -> int:
    return SmartDiscount.objects.exclude(status=SmartDiscount.Status.ARCHIVED).count()


def discount_page(*, offset: int, limit: int) -> list[SmartDiscount]:
    return list(SmartDiscount.objects.exclude(status=SmartDiscount.Status.ARCHIVED).order_by("-id")[offset:offset + limit])


def discount_ids_to_change(queryset: QuerySet, *, status: str) -> list[int]:
    """The ids of the discounts in `queryset` not already in `status` (an admin action)."""
    return list(queryset.exclude(status=status).values_list("pk", flat=True))


def code_taken(code: str, *, exclude_pk: int | None = None) -> bool:
    """Whether another discount already uses this (upper-case) code."""
    return SmartDiscount.objects.filter(code=code).exclude(pk=exclude_pk).exists()


def discounts_on_offer(*, customer: Customer, at: datetime, limit: int = 50) -> list[SmartDiscount]:
    """The active discounts a customer may see at `at` (also those starting later), public or
    theirs, with uses left; highest priority first."""
    qs = (SmartDiscount.objects.filter(status=SmartDiscount.Status.ACTIVE).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
          .filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
          .filter(Q(customer__isnull=True) | Q(customer=customer)).order_by("-priority", "id"))
    return list(qs[:limit])


def loyalty_discounts(*, level: str) -> list[SmartDiscount]:
    """The active loyalty discounts for customers of this level."""
    return [d for d in SmartDiscount.objects.filter(kind=SmartDiscount.Kind.LOYALTY, status=SmartDiscount.Status.ACTIVE)
            if level in (d.params or {}).get("levels", [])]


# --- statistics ------------------------------------------------------------------------------------------------------

@dataclass
class Stats:
    since: datetime
    until: datetime
    per_discount: list[dict]
    per_kind: list[dict]
    cashback_paid: int
    uses: int
    revenue: int
    discounted: int
    cashback_reversed: int = 0
    cashback_unrecovered: int = 0

    @property
    def cashback_net(self) -> int:
        """What cashback cost the shop in the period: paid minus what came back (may be < 0)."""
        return self.cashback_paid - self.cashback_reversed


def discount_stats(*, since: datetime, until: datetime | None = None) -> Stats:
    """Uses, revenue (what the orders paid), amount discounted per discount and per kind over
    [since, until), and the cashback in that time: paid (credited to wallets, by credit time),
    reversed (taken back from wallets after refunds, by reversal time) and unrecovered (owed
    back by refunds in the period but not in the wallet); net = paid - reversed."""
    until = until or timezone.now()
    if since >= until:
        raise DiscountError(_("The period is empty."))
    usages = DiscountUsage.objects.filter(created_at__gte=since, created_at__lt=until, released_at__isnull=True)
    rows = list(usages.values("discount_id", "discount__kind", "discount__title", "discount__code")
                .annotate(uses=Count("id"), discounted=Sum("amount"), revenue=Sum("order__paid_amount"))
                .order_by("-discounted", "discount_id"))
    kinds: dict[str, dict] = {}
    for row in rows:
        entry = kinds.setdefault(row["discount__kind"], {"kind": row["discount__kind"], "uses": 0, "discounted": 0, "revenue": 0})
        for key in ("uses", "discounted", "revenue"):
            entry[key] += row[key] or 0
    orders = Order.objects.filter(discount_usages__in=usages).distinct()
    revenue = orders.aggregate(total=Sum("paid_amount"))["total"] or 0
    paid = CashbackTransaction.objects.filter(credited_at__gte=since, credited_at__lt=until).aggregate(
        total=Sum("amount"))["total"] or 0
    back = CashbackTransaction.objects.filter(reversed_at__gte=since, reversed_at__lt=until).aggregate(
        reversed=Sum("reversed_amount"), unrecovered=Sum("unrecovered_amount"))
    return Stats(since=since, until=until, per_discount=rows,
                 per_kind=sorted(kinds.values(), key=lambda k: -k["discounted"]),
                 cashback_paid=paid, cashback_reversed=back["reversed"] or 0,
                 cashback_unrecovered=back["unrecovered"] or 0,
                 uses=sum(r["uses"] for r in rows), revenue=revenue, discounted=sum(r["discounted"] or 0 for r in rows))


def stats_chart(stats: Stats) -> bytes:
    """A PNG bar chart of the amount discounted and the revenue per kind."""
    kinds = [k["kind"] for k in stats.per_kind] or ["-"]
    discounted = [k["discounted"] for k in stats.per_kind] or [0]
    revenue = [k["revenue"] for k in stats.per_kind] or [0]
    positions = range(len(kinds))

    def draw(axes):
        axes.bar([p - 0.2 for p in positions], revenue, width=0.4, label="revenue")
        axes.bar([p + 0.2 for p in positions], discounted, width=0.4, label="discounted")
        axes.set_xticks(list(positions), kinds, rotation=20)
        axes.legend()

    return chart_png(draw, size=(7, 4), title=f"Discounts {stats.since:%Y-%m-%d} - {stats.until:%Y-%m-%d} (Toman)")
