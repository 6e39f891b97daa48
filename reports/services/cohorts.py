"""The lifetime value of each monthly cohort (customers by the month they joined): each one's
size, and per month since joining its net revenue (paid less refunded, by the month it was
paid), its buyers and the lifetime value per customer so far.

A closed month's cells (what each cohort paid in it and how many of its customers bought) never
change once the month is over, so the nightly job keeps them (CohortMonth, CohortCell, per
calendar) and the table reads only the current month's orders; refunds, which may come months
later, are read live from the refunded orders. A month not kept is read live."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum

from vpnbot.shop.models import Customer, Order

from ..models import CohortCell, CohortMonth
from .common import SOLD, as_int, bucket_of
from .periods import GREGORIAN, JALALI, Bucket, Period, local_today, midnight, month_label, month_of, month_period, shop_zone
from .rollup import RECOMPUTE_DAYS, first_activity_day, kept_days, kept_until

MAX_COHORT_MONTHS = 36
CALENDARS = (JALALI, GREGORIAN)


def months_before(first_day: date, count: int, calendar: str) -> list[Bucket]:
    """`count` calendar months ending with the one that starts on `first_day`, oldest first."""
    year, month = month_of(first_day, calendar)
    out = []
    for _i in range(count):
        span = month_period(year, month, calendar=calendar)
        out.append(Bucket(span.start, span.end, month_label(year, month, calendar)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def _cells(month: Bucket, cohorts: list[Bucket]) -> dict[int, tuple[int, int]]:
    """What each cohort (an index into `cohorts`) paid in `month` and how many of it bought."""
    rows = (Order.objects.filter(status__in=SOLD, paid_at__gte=month.start, paid_at__lt=month.end,
                                 customer__joined_at__gte=cohorts[0].start, customer__joined_at__lt=cohorts[-1].end)
            .annotate(c=bucket_of("customer__joined_at", cohorts)).values("c")
            .annotate(paid=Sum("paid_amount"), buyers=Count("customer_id", distinct=True)).order_by("c"))
    return {row["c"]: (as_int(row["paid"]), row["buyers"]) for row in rows if row["c"] is not None}


def cohort_month_keep(first_day: date, calendar: str) -> CohortMonth:
    """Compute and keep a closed month's cells for every cohort of the MAX_COHORT_MONTHS before it."""
    cohorts = months_before(first_day, MAX_COHORT_MONTHS, calendar)
    month = cohorts[-1]
    if month.end > midnight(local_today()):
        raise ValueError(f"the month of {first_day} has not ended yet")
    cells = _cells(month, cohorts)
    with transaction.atomic():
        CohortMonth.objects.filter(zone=settings.TIME_ZONE, calendar=calendar, month=first_day).delete()
        kept = CohortMonth.objects.create(zone=settings.TIME_ZONE, calendar=calendar, month=first_day)
        CohortCell.objects.bulk_create([
            CohortCell(kept=kept, cohort=_first_day(cohorts[c]), paid_amount=paid, buyers=buyers)
            for c, (paid, buyers) in cells.items()])
    return kept


def _first_day(bucket: Bucket) -> date:
    return bucket.start.astimezone(shop_zone()).date()


def cohort_months_missing(*, rebuild: bool = False) -> int:
    """Keep every closed month (both calendars) since the first customer's, up to
    MAX_COHORT_MONTHS back, that is not kept yet or closed within the last RECOMPUTE_DAYS."""
    today = local_today()
    first = first_activity_day()
    if first is None:
        return 0
    done = 0
    for calendar in CALENDARS:
        this_month = month_period(*month_of(today, calendar), calendar=calendar)
        closed = [m for m in months_before(this_month.first_day, MAX_COHORT_MONTHS + 1, calendar)[:-1]
                  if _first_day(m) >= month_period(*month_of(first, calendar), calendar=calendar).first_day]
        kept = set(CohortMonth.objects.filter(zone=settings.TIME_ZONE, calendar=calendar)
                   .values_list("month", flat=True))
        for month in closed:
            day = _first_day(month)
            last_day = month.end.astimezone(shop_zone()).date() - timedelta(days=1)
            recent = last_day >= today - timedelta(days=RECOMPUTE_DAYS)
            if rebuild or day not in kept or recent:
                cohort_month_keep(day, calendar)
                done += 1
    return done


def _sizes(spans: list[Bucket], calendar: str) -> list[int]:
    """Customers joined in each month: the kept days' counts, then the rest live."""
    # the table's last day (a table of an earlier month must not reach the kept days after it)
    first_day, last_day = _first_day(spans[0]), spans[-1].end.astimezone(shop_zone()).date() - timedelta(days=1)
    period = Period(spans[0].start, spans[-1].end, first_day, last_day, calendar)
    stop = kept_until(period)
    sizes = [0] * len(spans)
    i = 0
    for day, figures in sorted(kept_days(first_day, stop, ("joined",)).items()):
        while midnight(day) >= spans[i].end:
            i += 1
        sizes[i] += figures.get(("joined", ""), [0, 0])[1]
    rows = (Customer.objects.filter(joined_at__gte=max(midnight(stop), spans[0].start), joined_at__lt=spans[-1].end)
            .annotate(c=bucket_of("joined_at", spans)).values("c").annotate(n=Count("id")).order_by("c"))
    for row in rows:
        sizes[row["c"]] += row["n"]
    return sizes


def report_cohorts(months: int = 12, *, calendar: str, now=None) -> dict:
    """The last `months` monthly cohorts, this month's included (the staff API's /cohorts/)."""
    months = max(1, min(int(months), MAX_COHORT_MONTHS))
    current = month_period(*month_of(local_today(now), calendar), calendar=calendar)
    spans = months_before(current.first_day, months, calendar)
    closed_until = midnight(local_today())
    kept = {k.month: k for k in CohortMonth.objects.filter(
        zone=settings.TIME_ZONE, calendar=calendar, month__gte=_first_day(spans[0]), month__lte=_first_day(spans[-1]))}
    cohort_index = {_first_day(span): c for c, span in enumerate(spans)}
    revenue: dict[tuple[int, int], int] = {}
    buyers: dict[tuple[int, int], int] = {}
    kept_cells = CohortCell.objects.filter(kept__in=list(kept.values()), cohort__gte=_first_day(spans[0]))
    month_of_kept = {k.pk: cohort_index[day] for day, k in kept.items()}
    for cell in kept_cells.values("kept_id", "cohort", "paid_amount", "buyers"):
        key = (cohort_index[cell["cohort"]], month_of_kept[cell["kept_id"]])
        revenue[key], buyers[key] = cell["paid_amount"], cell["buyers"]
    for m, span in enumerate(spans):
        if _first_day(span) in kept and span.end <= closed_until:
            continue
        for c, (paid, n) in _cells(span, spans[:m + 1]).items():
            revenue[(c, m)], buyers[(c, m)] = paid, n
    refunds = (Order.objects.filter(status=Order.Status.REFUNDED, paid_at__gte=spans[0].start, paid_at__lt=spans[-1].end,
                                    customer__joined_at__gte=spans[0].start)
               .annotate(c=bucket_of("customer__joined_at", spans), m=bucket_of("paid_at", spans))
               .values("c", "m").annotate(refunded=Sum("refunded_amount")).order_by("c", "m"))
    for row in refunds:
        key = (row["c"], row["m"])
        revenue[key] = revenue.get(key, 0) - as_int(row["refunded"])
    sizes = _sizes(spans, calendar)
    rows = []
    for c, span in enumerate(spans):
        size = sizes[c]
        cumulative, values, ltv, active = 0, [], [], []
        for offset in range(months - c):
            amount = revenue.get((c, c + offset), 0)
            cumulative += amount
            values.append(amount)
            active.append(buyers.get((c, c + offset), 0))
            ltv.append(cumulative // size if size else 0)
        rows.append({"cohort": span.label, "customers": size, "revenue_amount": values,
                     "buyers": active, "ltv_amount": ltv})
    return {"months": months, "calendar": calendar, "cohorts": rows}
