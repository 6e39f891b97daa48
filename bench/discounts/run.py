"""Quote latency and SQL query count for a customer facing N active smart discounts.

    .venv/bin/python -m bench.discounts.run [--sizes 10,100,1000] [--runs 300]

Uses a throw-away test database on DATABASE_URL (default: SQLite). "queries" is the SQL count of
one quote; p50/p95/max are over the runs with a warm process cache; "cold" is a quote right
after the cache was dropped (what the first quote after a discount change costs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings_test")
    import django

    django.setup()
    from django.db import connection

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection, name


def make_discounts(n: int, customer, other, plans) -> None:
    from discounts.models import SmartDiscount

    K = SmartDiscount.Kind
    start = datetime(2020, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        pattern = i % 10
        common = {"starts_at": start, "priority": i % 7, "stackable": i % 4 == 0, "per_customer_limit": 3,
                  "title": f"bench {i}"}
        if pattern == 0:
            rows.append(SmartDiscount(kind=K.HOURLY, percent_bp=500 + i % 1000,
                                      params={"weekdays": [i % 7, (i + 3) % 7], "ranges": [["20:00", "23:00"], ["23:30", "01:00"]]},
                                      **common))
        elif pattern == 1:
            rows.append(SmartDiscount(kind=K.SEASONAL, percent_bp=1000, params={"from": "12-25", "to": "01-13"}, **common))
        elif pattern == 2:
            rows.append(SmartDiscount(kind=K.LOYALTY, percent_bp=700, params={"levels": ["gold", "platinum"]}, **common))
        elif pattern == 3:
            rows.append(SmartDiscount(kind=K.BULK, params={"basis": "quantity", "tiers": [
                {"min": 3, "percent_bp": 500}, {"min": 6, "percent_bp": 1000}]}, **common))
        elif pattern == 4:
            rows.append(SmartDiscount(kind=K.CODE, code=f"BENCH{i}", percent_bp=1000, customer=other, **common))
        elif pattern == 5:
            rows.append(SmartDiscount(kind=K.BIRTHDAY, percent_bp=2000, **common))
        elif pattern == 6:
            rows.append(SmartDiscount(kind=K.FIRST_PURCHASE, fixed_amount=5000, **common))
        else:
            rows.append(SmartDiscount(kind=K.CONDITIONAL, percent_bp=100 + i % 900, cap_amount=40_000, conditions={"all": [
                {"plan_in": [p.pk for p in plans[:2]]}, {"any": [{"quantity": {"gte": 3}}, {"amount": {"gte": 150_000}}]},
                {"not": {"language": ["en"]}}, {"days_since_joined": {"gte": 0}},
                {"hour": {"from": 0, "to": 24}}]}, **common))
    SmartDiscount.objects.bulk_create(rows, batch_size=500)


def measure(n: int, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from discounts.models import CashbackRule, DiscountUsage, SmartDiscount
    from vpnbot.shop.models import Customer, Order, Plan
    from vpnbot.shop.services import price_quote

    DiscountUsage.objects.all().delete()
    Order.objects.all().delete()
    SmartDiscount.objects.all().delete()
    CashbackRule.objects.all().delete()
    Customer.objects.all().delete()
    Plan.objects.all().delete()
    plans = [Plan.objects.create(name=f"P{i}", price_amount=100_000 + i * 50_000) for i in range(3)]
    customer = Customer.objects.create(telegram_id=1, referral_code="bench1", language="fa", birth_month=1)
    other = Customer.objects.create(telegram_id=2, referral_code="bench2", language="en")
    for i in range(5):
        Order.objects.create(customer=customer, plan=plans[0], list_amount=100_000, paid_amount=100_000, status="paid",
                             idempotency_key=f"bench-{i}", paid_at=datetime(2025, 1, 1, tzinfo=UTC))
    for i in range(5):
        CashbackRule.objects.create(percent_bp=100 * (i + 1), min_amount=50_000 * i, starts_at=datetime(2020, 1, 1, tzinfo=UTC))
    make_discounts(n, customer, other, plans)
    at = datetime(2026, 3, 20, 17, 0, tzinfo=UTC)  # Esfand 29, 20:30 in Tehran: hourly and seasonal ones apply
    for _ in range(20):
        price_quote(customer, plans[0], 3, at)
    with CaptureQueriesContext(connection) as captured:
        quote = price_quote(customer, plans[0], 3, at)
    timings = []
    for i in range(runs):
        started = time.perf_counter()
        price_quote(customer, plans[i % 3], (1, 3, 6, 12)[i % 4], at)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    from discounts.services import cache_clear

    cold = []
    for _ in range(5):
        cache_clear()
        started = time.perf_counter()
        price_quote(customer, plans[0], 3, at)
        cold.append((time.perf_counter() - started) * 1000)
    return {"cold": statistics.median(cold), "n": n, "queries": len(captured.captured_queries), "applied": len(quote.discounts),
            "p50": statistics.median(timings), "p95": timings[int(len(timings) * 0.95) - 1], "max": timings[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    connection, name = setup_django()
    try:
        print(f"database: {connection.vendor}; runs per size: {args.runs}")
        print(f"{'discounts':>10} {'queries':>8} {'applied':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cold ms':>8}")
        for size in [int(s) for s in args.sizes.split(",")]:
            r = measure(size, args.runs)
            print(f"{r['n']:>10} {r['queries']:>8} {r['applied']:>8} {r['p50']:>8.2f} {r['p95']:>8.2f} {r['max']:>8.2f} {r['cold']:>8.2f}")
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
