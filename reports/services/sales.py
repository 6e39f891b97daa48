"""Who sells what: the period's paid orders by plan, by panel, by reseller and by the way they
were paid (one grouped query each)."""

from __future__ import annotations

from django.db.models import CharField, Count, F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from panels.models import PanelAccount
from payments.models import Payment as OnlinePayment
from resellers.models import Reseller
from vpnbot.shop.models import Subscription

from .common import as_int, paid_orders
from .periods import Period

WALLET = "wallet"
RENEWAL_HOPS = 4  # an account renewed more often than this is counted under "unknown"


def _figures(rows, key: str, name=None) -> list[dict]:
    out = []
    for row in rows:
        item = {"key": row[key], "orders": row["orders"], "gross_amount": as_int(row["gross"]),
                "net_amount": as_int(row["net"])}
        if name:
            item["name"] = row.get(name) or ""
        out.append(item)
    return sorted(out, key=lambda item: (-item["net_amount"], str(item["key"])))


def _grouped(queryset, *fields):
    return queryset.values(*fields).annotate(orders=Count("id"), gross=Sum("list_amount"), net=Sum("paid_amount"))


def by_plan(period: Period) -> list[dict]:
    return _figures(_grouped(paid_orders(period), "plan_id", "plan__name").order_by(), "plan_id", "plan__name")


def _panel_of_order():
    """The panel of the order's account: the account points at the latest subscription of its
    chain of renewals, so the order's own subscription, or the one renewing it, and so on
    (RENEWAL_HOPS deep)."""
    candidates = []
    for hops in range(RENEWAL_HOPS):
        # the order's subscription sits hops + 2 queries below the order (inside the renewals'
        # subqueries and the account's), and an OuterRef reaches one query out
        order_pk = "pk"
        for _level in range(hops + 2):
            order_pk = OuterRef(order_pk)
        subs = Subscription.objects.filter(order_id=order_pk).values("pk")[:1]
        for _hop in range(hops):
            subs = Subscription.objects.filter(renewed_from_id=Subquery(subs)).values("pk")[:1]
        candidates.append(Subquery(PanelAccount.objects.filter(subscription_id=Subquery(subs)).values("panel_id")[:1]))
    return Coalesce(*candidates, output_field=IntegerField())


def by_panel(period: Period) -> list[dict]:
    from panels.models import Panel

    rows = _grouped(paid_orders(period).annotate(panel=_panel_of_order()), "panel").order_by()
    names = dict(Panel.objects.values_list("pk", "name"))
    out = _figures(rows, "panel")
    for item in out:
        item["name"] = names.get(item["key"], "")
    return out


def by_reseller(period: Period) -> list[dict]:
    """The accounts resellers bought for their customers (bulk buys and their renewals), by
    reseller; a reseller's purchase for their own use is a sale like any other."""
    rows = (_grouped(paid_orders(period).filter(customer__reseller__isnull=False, subscription__resold=True)
                     .annotate(reseller_id=F("customer__reseller__id")), "reseller_id").order_by())
    names = {r.pk: str(r.customer) for r in Reseller.objects.select_related("customer")
             .filter(pk__in=[row["reseller_id"] for row in rows])}
    out = _figures(rows, "reseller_id")
    for item in out:
        item["name"] = names.get(item["key"], "")
    return out


def by_method(period: Period) -> list[dict]:
    """An order paid online (the payment that placed it) under its provider; any other from the
    wallet (topped up by any method before)."""
    provider = Subquery(OnlinePayment.objects.filter(order_id=OuterRef("pk")).values("provider")[:1])
    rows = _grouped(paid_orders(period).annotate(method=Coalesce(provider, Value(WALLET), output_field=CharField())),
                    "method").order_by()
    return _figures(rows, "method")


def report_sales(period: Period) -> dict:
    return {"from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
            "by_plan": by_plan(period), "by_panel": by_panel(period), "by_reseller": by_reseller(period),
            "by_method": by_method(period)}
