"""Who sells what: the period's paid orders by plan, by panel, by reseller and by the way they
were paid (one grouped query each), kept per closed day like the money figures (rollup.py)."""

from __future__ import annotations

from django.db.models import CharField, Count, F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from panels.models import PanelAccount
from payments.models import Payment as OnlinePayment
from resellers.models import Reseller
from vpnbot.shop.models import Order, Plan, Subscription

from .common import SOLD, as_int
from .periods import Period, midnight
from .rollup import kept_figures, kept_until

WALLET = "wallet"
RENEWAL_HOPS = 4  # an account renewed more often than this is counted under "unknown"


def _figures(cells: dict, names: dict | None = None) -> list[dict]:
    out = []
    for key, (orders, gross, net) in cells.items():
        if not orders:
            continue
        item = {"key": key, "orders": orders, "gross_amount": gross, "net_amount": net}
        if names is not None:
            item["name"] = names.get(key) or ""
        out.append(item)
    return sorted(out, key=lambda item: (-item["net_amount"], str(item["key"])))


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


def _by_plan(orders):
    return orders.annotate(k=F("plan_id"))


def _by_panel(orders):
    return orders.annotate(k=_panel_of_order())


def _by_reseller(orders):
    """The accounts resellers bought for their customers (bulk buys and their renewals), by
    reseller; a reseller's purchase for their own use is a sale like any other."""
    return (orders.filter(customer__reseller__isnull=False, subscription__resold=True)
            .annotate(k=F("customer__reseller__id")))


def _by_method(orders):
    """An order paid online (the payment that placed it) under its provider; any other from the
    wallet (topped up by any method before)."""
    provider = Subquery(OnlinePayment.objects.filter(order_id=OuterRef("pk")).values("provider")[:1])
    return orders.annotate(k=Coalesce(provider, Value(WALLET), output_field=CharField()))


DIMENSIONS = {"plan": _by_plan, "panel": _by_panel, "reseller": _by_reseller, "method": _by_method}
INTEGER_KEYS = {"plan", "panel", "reseller"}


def span_sales(start, end) -> dict:
    """The paid orders of [start, end) by each dimension, as figures (reports.services.rollup):
    metric "sales:DIMENSION" keyed by the plan, panel, reseller or method, its amount the net
    and its count the orders; "sales:DIMENSION:gross" the gross."""
    orders = Order.objects.filter(status__in=SOLD, paid_at__gte=start, paid_at__lt=end)
    figures: dict = {}
    for dimension, keyed in DIMENSIONS.items():
        rows = keyed(orders).values("k").annotate(orders=Count("id"), gross=Sum("list_amount"),
                                                  net=Sum("paid_amount")).order_by()
        for row in rows:
            key = "" if row["k"] is None else str(row["k"])
            figures[(f"sales:{dimension}", key)] = [as_int(row["net"]), row["orders"]]
            figures[(f"sales:{dimension}:gross", key)] = [as_int(row["gross"]), 0]
    return figures


def _cells(figures: dict, dimension: str) -> dict:
    cells = {}
    for (metric, key), (net, orders) in figures.items():
        if metric == f"sales:{dimension}":
            gross = figures.get((f"sales:{dimension}:gross", key), [0, 0])[0]
            value = (int(key) if key else None) if dimension in INTEGER_KEYS else key
            cells[value] = (orders, gross, net)
    return cells


def report_sales(period: Period) -> dict:
    """The period's paid orders by plan, panel, reseller and method: the kept days' figures,
    the rest (today) live."""
    from panels.models import Panel

    stop = kept_until(period)
    figures = kept_figures(period.first_day, stop, prefix="sales:")
    if stop <= period.last_day:
        for key, (amount, count) in span_sales(midnight(stop), period.end).items():
            cell = figures.setdefault(key, [0, 0])
            cell[0] += amount
            cell[1] += count
    plans = dict(Plan.objects.values_list("pk", "name"))
    panels = dict(Panel.objects.values_list("pk", "name"))
    resold = _cells(figures, "reseller")
    resellers = {r.pk: str(r.customer) for r in Reseller.objects.select_related("customer").filter(pk__in=list(resold))}
    return {"from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
            "by_plan": _figures(_cells(figures, "plan"), plans), "by_panel": _figures(_cells(figures, "panel"), panels),
            "by_reseller": _figures(resold, resellers), "by_method": _figures(_cells(figures, "method"))}
