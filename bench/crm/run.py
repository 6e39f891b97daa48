"""Time the CRM's full set-based recompute on N customers with orders, its peak memory, and
the speed-up over a naive per-customer ORM loop.

    .venv/bin/python -m bench.crm.run [--sizes 10000,100000] [--orders 5] [--naive 10000] [--keep] [--reuse]

DATABASE_URL picks the server; the data goes to a separate database named vpnbot_crm_bench
(SQLite: var/crm_bench.sqlite3), created and dropped by the run. On PostgreSQL the data is
generated with generate_series (INSERT ... SELECT); elsewhere with bulk inserts.

--reuse keeps an existing benchmark database (implies --keep) and, when it already holds
exactly N customers and N x orders orders, skips the generation and only empties the CRM's
tables, so the timed recompute is again a first run. Use it to iterate on one size.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BENCH_DB = "vpnbot_crm_bench"


def setup_django(reuse: bool = False):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings_test")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    test = connection.settings_dict.setdefault("TEST", {})
    test["NAME"] = str(settings.VAR_DIR / "crm_bench.sqlite3") if connection.vendor == "sqlite" else BENCH_DB
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=reuse)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=OFF")
    return connection, name


CRM_TABLES = ["crm_userinsight", "crm_customerjourney", "crm_personalizedoffer", "crm_campaignrecipient",
              "crm_useractivity", "crm_userprofile", "crm_profilestage", "crm_recomputerun"]
SHOP_TABLES = ["shop_subscription", "shop_order", "shop_walletransaction", "shop_domainevent", "shop_customer",
               "shop_plan"]


def clear(tables=CRM_TABLES + SHOP_TABLES):
    from django.db import connection

    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE " + ", ".join(t for t in tables if t in existing) + " RESTART IDENTITY CASCADE")
            return
        if connection.vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS=0")
        for table in tables:
            if table in existing:
                cursor.execute(f"DELETE FROM {table}")
        if connection.vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS=1")


def _defaults_sql(model, given: dict[str, str]) -> tuple[list[str], list[str], list]:
    """Columns and SQL expressions for an INSERT ... SELECT: `given` ones, defaults for the rest."""
    from django.db import connection

    columns, exprs, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in given:
            exprs.append(given[field.column])
        elif field.null:
            exprs.append("NULL")
        else:
            exprs.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    return columns, exprs, params


def generate_postgres(n: int, orders_per_customer: int) -> None:
    from django.db import connection

    from vpnbot.shop.models import Customer, Order, Plan, Subscription

    plans = [Plan.objects.create(name=f"P{i}", price_amount=50_000 * (i + 1), duration_days=30) for i in range(4)]
    first_plan = plans[0].pk
    as_of = AS_OF.isoformat()
    customer_cols, customer_exprs, customer_params = _defaults_sql(Customer, {
        "telegram_id": "1000000000 + g", "username": "'u' || g", "first_name": "'Bench'",
        "referral_code": "'b' || g", "joined_at": f"TIMESTAMPTZ '{as_of}' - (g %% 900) * INTERVAL '1 day'",
    })
    n_orders = n * orders_per_customer
    order_cols, order_exprs, order_params = _defaults_sql(Order, {
        "customer_id": "s.cid", "plan_id": f"{first_plan} + (s.g %% 4)",
        "list_amount": "50000 * (1 + s.g %% 4)",
        "paid_amount": "CASE WHEN s.g %% 5 = 0 THEN 45000 ELSE 50000 END * (1 + s.g %% 4)",
        "discount_amount": "CASE WHEN s.g %% 5 = 0 THEN 5000 * (1 + s.g %% 4) ELSE 0 END",
        "status": "'paid'", "idempotency_key": "'bench-' || s.g", "created_at": "s.at", "paid_at": "s.at",
    })
    sub_cols, sub_exprs, sub_params = _defaults_sql(Subscription, {
        "customer_id": "o.customer_id", "plan_id": "o.plan_id", "order_id": "o.id", "starts_at": "o.created_at",
        "expires_at": "o.created_at + INTERVAL '30 days'",
        "status": f"CASE WHEN o.created_at + INTERVAL '30 days' > TIMESTAMPTZ '{as_of}' THEN 'active' ELSE 'expired' END",
        "created_at": "o.created_at", "config": "'vless://bench'",
    })
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(f"INSERT INTO shop_customer ({', '.join(customer_cols)}) SELECT {', '.join(customer_exprs)} "
                       f"FROM generate_series(1, {n}) g", customer_params)
        cursor.execute(
            f"INSERT INTO shop_order ({', '.join(order_cols)}) SELECT {', '.join(order_exprs)} FROM ("
            f"SELECT g, TIMESTAMPTZ '{as_of}' - random() * INTERVAL '720 days' AS at, "
            f"c.min_id + floor(random() * {n})::bigint AS cid FROM generate_series(1, {n_orders}) g, "
            f"(SELECT MIN(id) AS min_id FROM shop_customer) c) s", order_params)
        cursor.execute(f"INSERT INTO shop_subscription ({', '.join(sub_cols)}) SELECT {', '.join(sub_exprs)} "
                       f"FROM shop_order o", sub_params)
        cursor.execute("ANALYZE")


def generate_bulk(n: int, orders_per_customer: int) -> None:
    import random

    from vpnbot.shop.models import Customer, Order, Plan, Subscription

    rng = random.Random(42)
    plans = [Plan.objects.create(name=f"P{i}", price_amount=50_000 * (i + 1), duration_days=30) for i in range(4)]
    batch = 5000
    for start in range(0, n, batch):
        Customer.objects.bulk_create([
            Customer(telegram_id=1_000_000_000 + g, username=f"u{g}", first_name="Bench", referral_code=f"b{g}",
                     joined_at=AS_OF - timedelta(days=g % 900)) for g in range(start, min(n, start + batch))])
    ids = list(Customer.objects.values_list("pk", flat=True))
    total = n * orders_per_customer
    for start in range(0, total, batch):
        orders = []
        for g in range(start, min(total, start + batch)):
            plan = plans[g % 4]
            at = AS_OF - timedelta(seconds=rng.random() * 720 * 86400)
            discount = 5000 * (1 + g % 4) if g % 5 == 0 else 0
            orders.append(Order(customer_id=rng.choice(ids), plan=plan, list_amount=plan.price_amount,
                                paid_amount=plan.price_amount - discount, discount_amount=discount, status="paid",
                                idempotency_key=f"bench-{g}", created_at=at, paid_at=at))
        Order.objects.bulk_create(orders)
        if orders[0].pk is None:  # a backend that does not return ids from bulk inserts
            orders = list(Order.objects.filter(idempotency_key__in=[o.idempotency_key for o in orders]))
        Subscription.objects.bulk_create([
            Subscription(customer_id=o.customer_id, plan_id=o.plan_id, order_id=o.pk, starts_at=o.created_at,
                         expires_at=o.created_at + timedelta(days=30), created_at=o.created_at, config="vless://bench",
                         status="active" if o.created_at + timedelta(days=30) > AS_OF else "expired") for o in orders])


def naive_recompute(as_of: datetime) -> int:
    """What the recompute replaces: a query or three per customer and a save per profile."""
    from crm.models import UserProfile
    from vpnbot.shop.models import Customer, Order, Subscription

    rows = []
    for customer in Customer.objects.all().iterator(chunk_size=2000):
        orders = list(Order.objects.filter(customer=customer, status__in=["paid", "refunded"], paid_at__lte=as_of))
        subs = list(Subscription.objects.filter(customer=customer, created_at__lte=as_of))
        paid = [o for o in orders if o.status == "paid"]
        monetary = sum(o.paid_amount - o.refunded_amount for o in orders)
        last = max((o.paid_at for o in orders), default=None)
        active = max((s.expires_at for s in subs if s.status == "active" and s.expires_at > as_of), default=None)
        rows.append([customer.pk, len(paid), monetary, last, active, bool(orders), 0, 0, 0])
    buyers = [r for r in rows if r[5]]
    for index, key in ((6, lambda r: (r[3], r[0])), (7, lambda r: (r[1], r[0])), (8, lambda r: (r[2], r[0]))):
        ordered = sorted(buyers, key=key)
        size, extra = divmod(len(ordered), 5)
        position = 0
        for tile in range(1, 6):
            count = size + (1 if tile <= extra else 0)
            for row in ordered[position:position + count]:
                row[index] = tile
            position += count
    for pk, frequency, monetary, last, active, _buyer, r, f, m in rows:
        UserProfile.objects.update_or_create(customer_id=pk, defaults={
            "frequency": frequency, "monetary_amount": monetary, "last_order_at": last, "active_until": active,
            "r_score": r, "f_score": f, "m_score": m})
    return len(rows)


def measure(fn):
    tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak


def db_backend_peak_mib(connection) -> float | None:
    """PostgreSQL: the peak resident memory (VmHWM) of this connection's server process, shared
    buffers it touched included; None elsewhere or when /proc is not readable."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="customer counts, comma-separated")
    parser.add_argument("--orders", type=int, default=5, help="orders per customer on average")
    parser.add_argument("--naive", type=int, default=10000, help="customers for the naive loop comparison (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the kept database and its data when it has the same size (implies --keep)")
    args = parser.parse_args()
    args.keep = args.keep or args.reuse
    connection, name = setup_django(reuse=args.reuse)
    from django.conf import settings

    from crm.models import UserProfile
    from crm.services import profiles_recompute

    settings.CRM_AUTO_OFFERS = False
    settings.ENABLE_CRM = True
    print(f"database: {connection.vendor} ({name}); orders per customer: {args.orders}")
    print(f"{'customers':>10} {'orders':>10} {'generate s':>11} {'recompute s':>12} {'rerun s':>8} "
          f"{'changed':>8} {'py peak MiB':>12} {'db peak MiB':>12}")
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        if args.naive and args.naive not in sizes:
            sizes.insert(0, args.naive)
        from vpnbot.shop.models import Customer, Order

        for n in sizes:
            t0 = time.perf_counter()
            if args.reuse and Customer.objects.count() == n and Order.objects.count() == n * args.orders:
                clear(CRM_TABLES)
                generated = float("nan")  # reused
            else:
                clear()
                if connection.vendor == "postgresql":
                    generate_postgres(n, args.orders)
                else:
                    generate_bulk(n, args.orders)
                generated = time.perf_counter() - t0

            orders = Order.objects.count()
            connection.close()  # a fresh server process: its peak memory is the recompute's
            first, seconds, peak = measure(lambda: profiles_recompute(as_of=AS_OF, make_offers=False))
            rerun, rerun_seconds, rerun_peak = measure(lambda: profiles_recompute(as_of=AS_OF, make_offers=False))
            db_peak = db_backend_peak_mib(connection)
            print(f"{n:>10,} {orders:>10,} {generated:>11.1f} {seconds:>12.2f} {rerun_seconds:>8.2f} "
                  f"{rerun.changed:>8} {max(peak, rerun_peak) / 2**20:>12.2f} "
                  f"{'-' if db_peak is None else f'{db_peak:.0f}':>12}", flush=True)
            if n == args.naive:
                UserProfile.objects.all().delete()
                count, naive_seconds, naive_peak = measure(lambda: naive_recompute(AS_OF))
                UserProfile.objects.all().delete()
                _run, set_seconds, _peak = measure(lambda: profiles_recompute(as_of=AS_OF, make_offers=False))
                print(f"  naive per-customer ORM loop on {count:,} customers: {naive_seconds:.2f} s "
                      f"(py peak {naive_peak / 2**20:.1f} MiB) vs set-based {set_seconds:.2f} s "
                      f"-> {naive_seconds / set_seconds:.0f}x faster", flush=True)
        print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
