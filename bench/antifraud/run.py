"""Time the anti-fraud's scoring of a new payment on a big shop, against a bare indexed
primary-key lookup measured in the same run, and show that every rule's query uses an index.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vpnbot_bench_af flock /tmp/vpnbot-bench.lock \\
        .venv/bin/python -m bench.antifraud.run [--customers 1000000] [--receipts 4000000] \\
        [--online 1000000] [--fingerprints 0.6] [--n 3000] [--reuse]

PostgreSQL only (the fill is set-based SQL: INSERT ... SELECT generate_series, no ORM loop).
The data goes to a database of its own, vpnbot_bench_af (created with the migrations, dropped
unless --reuse keeps it; --reuse with the same sizes skips the fill).

The fill: N customers (joined up to 900 days ago), receipts (card top-ups, each with its
Telegram photo key claimed in antifraud_receiptphoto, most approved) and online payments
(Stars/Zarinpal/NowPayments, paid), and perceptual-hash fingerprints for a share of the
receipts: 70 % random hashes, 30 % in 40 clusters (a bank app's layout: about 8 of 64 bits off
a template), which is the hard case for the band lookup.

Timed, each over --n assessments of a random existing customer, in a transaction rolled back
after each (the tables do not grow while measuring):
- baseline: SELECT of one customer by its primary key (a raw cursor);
- receipt: risk_assess(subject="payment", stage="submit") of a new receipt with a photo key
  (the ban, the case, the whitelist, the rules' settings, duplicate photo under its unique key,
  top-up velocity, account age, unusual amount), the receipt's INSERT not timed;
- near-duplicate: similar_receipts() of a hash (half of them inside a cluster);
- online: risk_assess(subject="online_payment", stage="confirm") (purchase velocity, account age).
Then EXPLAIN of every SELECT the three made (captured), flagging any Seq Scan on a big table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import statistics
import time

BENCH_DB = "vpnbot_bench_af"
BIG = ("shop_customer", "shop_payment", "payments_payment", "shop_order", "antifraud_receiptphoto",
       "antifraud_receiptfingerprint", "antifraud_riskcase", "antifraud_ban")


def setup_django(reuse: bool):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings_test")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("PostgreSQL only: set DATABASE_URL=postgres://...")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = BENCH_DB
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=reuse)
    return connection, name


def counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        found = {}
        for table in ("shop_customer", "shop_payment", "payments_payment", "antifraud_receiptfingerprint"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            found[table] = cursor.fetchone()[0]
    return found


def fill(customers: int, receipts: int, online: int, share: float) -> dict[str, float]:
    from django.db import connection

    from antifraud.models import Ban, RiskCase
    from bench.crm.run import _defaults_sql
    from payments.models import Payment as Online
    from vpnbot.shop.models import Customer, Order, Payment, Plan

    now = "TIMESTAMPTZ '2026-11-29 12:00:00+00'"
    plan = Plan.objects.create(name="Bench", price_amount=100_000, duration_days=30)
    steps = {}
    customer_cols, customer_exprs, customer_params = _defaults_sql(Customer, {
        "telegram_id": "1000000000 + g", "username": "'u' || g", "first_name": "'Bench'", "referral_code": "'b' || g",
        "joined_at": f"{now} - (g %% 900) * INTERVAL '1 day' - (g %% 1440) * INTERVAL '1 minute'",
    })
    receipt_cols, receipt_exprs, receipt_params = _defaults_sql(Payment, {
        "customer_id": "s.cid", "amount": "100000 * (1 + s.g %% 10)", "receipt_file_id": "'AgAC' || s.g",
        "receipt_unique_id": "'AQAD' || s.g", "status": "CASE WHEN s.g %% 20 = 0 THEN 'rejected' ELSE 'approved' END",
        "created_at": "s.at", "reviewed_at": "s.at", "reviewer": "'@bench'",
    })
    online_cols, online_exprs, online_params = _defaults_sql(Online, {
        "customer_id": "s.cid", "provider": "(ARRAY['stars','zarinpal','nowpayments'])[1 + s.g %% 3]",
        "provider_payment_id": "'bench-' || s.g", "amount": "100000 * (1 + s.g %% 10)", "currency": "'XTR'",
        "provider_amount": "100 * (1 + s.g %% 10)", "status": "'paid'", "created_at": "s.at", "updated_at": "s.at",
        "paid_at": "s.at",
    })
    order_cols, order_exprs, order_params = _defaults_sql(Order, {
        "customer_id": "s.cid", "plan_id": str(plan.pk), "list_amount": "100000", "paid_amount": "100000",
        "status": "'paid'", "idempotency_key": "'bench-' || s.g", "created_at": "s.at", "paid_at": "s.at",
    })
    case_cols, case_exprs, case_params = _defaults_sql(RiskCase, {
        "subject": "'payment'", "subject_id": "id", "customer_id": "customer_id", "score": "40", "status": "'flagged'",
        "amount": "amount", "created_at": "created_at", "updated_at": "created_at", "reasons": "'[\"bench\"]'",
    })
    ban_cols, ban_exprs, ban_params = _defaults_sql(Ban, {
        "customer_id": "id", "telegram_id": "telegram_id", "reason": "'bench'", "by": "'admin:bench'",
        "created_at": "joined_at",
    })
    spread = "c.min_id + floor(random() * {n})::bigint AS cid"
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.17)")
        started = time.perf_counter()
        cursor.execute(f"INSERT INTO shop_customer ({', '.join(customer_cols)}) SELECT {', '.join(customer_exprs)} "
                       f"FROM generate_series(1, {customers}) g", customer_params)
        steps["customers"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute(
            f"INSERT INTO shop_payment ({', '.join(receipt_cols)}) SELECT {', '.join(receipt_exprs)} FROM ("
            f"SELECT g, {now} - random() * INTERVAL '365 days' AS at, {spread.format(n=customers)} "
            f"FROM generate_series(1, {receipts}) g, (SELECT MIN(id) AS min_id FROM shop_customer) c) s",
            receipt_params)
        steps["receipts"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("INSERT INTO antifraud_receiptphoto (unique_id, payment_id, customer_id, created_at) "
                       "SELECT receipt_unique_id, id, customer_id, created_at FROM shop_payment")
        steps["receipt photos"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute(
            f"INSERT INTO payments_payment ({', '.join(online_cols)}) SELECT {', '.join(online_exprs)} FROM ("
            f"SELECT g, {now} - random() * INTERVAL '365 days' AS at, {spread.format(n=customers)} "
            f"FROM generate_series(1, {online}) g, (SELECT MIN(id) AS min_id FROM shop_customer) c) s",
            online_params)
        steps["online payments"] = time.perf_counter() - started
        started = time.perf_counter()  # an order for each online payment (purchase velocity reads them)
        cursor.execute(
            f"INSERT INTO shop_order ({', '.join(order_cols)}) SELECT {', '.join(order_exprs)} FROM ("
            f"SELECT id AS g, customer_id AS cid, created_at AS at FROM payments_payment) s", order_params)
        steps["orders"] = time.perf_counter() - started
        started = time.perf_counter()  # 2 % of the receipts flagged, 1 customer in 1000 banned
        cursor.execute(f"INSERT INTO antifraud_riskcase ({', '.join(case_cols)}) SELECT {', '.join(case_exprs)} "
                       f"FROM shop_payment WHERE id %% 50 = 0", case_params)
        cursor.execute(f"INSERT INTO antifraud_ban ({', '.join(ban_cols)}) SELECT {', '.join(ban_exprs)} "
                       f"FROM shop_customer WHERE id %% 1000 = 0", ban_params)
        steps["cases and bans"] = time.perf_counter() - started
        started = time.perf_counter()
        # 64-bit hashes: 70 % random, 30 % a template of 40 with ~8 bits flipped (p = 1/8 per bit)
        rnd64 = "((floor(random() * 4294967296)::bigint << 32) | floor(random() * 4294967296)::bigint)"
        cursor.execute("CREATE TEMP TABLE bench_templates AS SELECT t, "
                       f"{rnd64} AS v FROM generate_series(0, 39) t")
        cursor.execute(
            "INSERT INTO antifraud_receiptfingerprint (payment_id, customer_id, phash, band0, band1, band2, band3, "
            "created_at) SELECT id, customer_id, lpad(to_hex(v), 16, '0'), v & 65535, (v >> 16) & 65535, "
            "(v >> 32) & 65535, (v >> 48) & 65535, created_at FROM ("
            f"SELECT p.id, p.customer_id, p.created_at, CASE WHEN p.id %% 10 < 3 THEN "
            f"(SELECT v FROM bench_templates WHERE t = p.id %% 40) # ({rnd64} & {rnd64} & {rnd64}) "
            f"ELSE {rnd64} END AS v FROM shop_payment p WHERE random() < %s) s", [share])
        steps["fingerprints"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("ANALYZE")
        steps["analyze"] = time.perf_counter() - started
    return steps


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    return at(0.50), at(0.95), at(0.99)


class Rollback(Exception):
    pass


def measure(n: int, statements: dict) -> tuple[dict[str, list[float]], list[str]]:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from antifraud.services import fingerprints
    from payments.models import Payment as Online
    from vpnbot.shop import risk
    from vpnbot.shop.models import Customer, Payment

    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM shop_customer")
        low, high = cursor.fetchone()
        # the clusters' hashes: the templates of this fill, or (a reused database) one member of each
        cursor.execute("SELECT v FROM bench_templates")
        templates = [row[0] for row in cursor.fetchall()]
        if not templates:
            cursor.execute("SELECT DISTINCT ON (payment_id % 40) ('x' || phash)::bit(64)::bigint "
                           "FROM antifraud_receiptfingerprint WHERE payment_id % 10 < 3 AND payment_id < 100000 "
                           "ORDER BY payment_id % 40, payment_id")
            templates = [row[0] for row in cursor.fetchall()]
    rng = random.Random(7)
    times: dict[str, list[float]] = {"baseline": [], "receipt": [], "receipt, nothing fired": [],
                                     "receipt, a rule fired": [], "near-duplicate": [], "near-dup., random hash": [],
                                     "near-dup., in a cluster": [], "online": []}
    sqls: list[str] = []

    def capture(keep: bool):
        # the statements are recorded for three assessments only: recording costs time of its own
        return CaptureQueriesContext(connection) if keep else contextlib.nullcontext()

    for i in range(n + 50):  # the first 50 warm up
        warm = i >= 50
        customer_id = rng.randint(low, high)
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute("SELECT id, telegram_id, joined_at FROM shop_customer WHERE id = %s", [customer_id])
            cursor.fetchone()
            if warm:
                times["baseline"].append(time.perf_counter() - started)
        customer = Customer.objects.get(pk=customer_id)
        try:
            with transaction.atomic():
                # 1 in 50 an amount far from the usual, 1 in 100 a photo already sent (by someone else)
                receipt = Payment.objects.create(customer=customer, amount=5_000_000 if i % 50 == 7
                                                 else rng.choice((200_000, 300_000, 500_000)),
                                                 receipt_file_id=f"AgAC-new-{i}",
                                                 receipt_unique_id=f"AQAD{rng.randint(1, 10**6)}" if i % 100 == 3
                                                 else f"AQAD-new-{i}")
                with capture(i == 60) as captured:
                    started = time.perf_counter()
                    verdict = risk.risk_assess(subject="payment", customer=customer, stage="submit", payment=receipt)
                    elapsed = time.perf_counter() - started
                if warm:
                    times["receipt"].append(elapsed)
                    times["receipt, a rule fired" if verdict.reasons else "receipt, nothing fired"].append(elapsed)
                if i == 60:
                    sqls += [q["sql"] for q in captured.captured_queries]
                    statements["receipt"] = len(captured.captured_queries)
                value = rng.getrandbits(64)
                if templates and i % 2:
                    template = templates[i % len(templates)] & (2**64 - 1)
                    value = template ^ (rng.getrandbits(64) & rng.getrandbits(64) & rng.getrandbits(64))
                with capture(i == 61) as captured:
                    started = time.perf_counter()
                    fingerprints.similar_receipts(value, exclude_customer_id=customer_id, max_distance=6)
                    elapsed = time.perf_counter() - started
                if warm:
                    times["near-duplicate"].append(elapsed)
                    times["near-dup., in a cluster" if templates and i % 2 else "near-dup., random hash"].append(elapsed)
                if i == 61:
                    sqls += [q["sql"] for q in captured.captured_queries]
                payment = Online.objects.create(customer=customer, provider="stars", amount=100_000, currency="XTR",
                                                provider_amount=100, status="pending")
                with capture(i == 62) as captured:
                    started = time.perf_counter()
                    risk.risk_assess(subject="online_payment", customer=customer, stage="confirm", payment=payment)
                    elapsed = time.perf_counter() - started
                if warm:
                    times["online"].append(elapsed)
                if i == 62:
                    sqls += [q["sql"] for q in captured.captured_queries]
                    statements["online"] = len(captured.captured_queries)
                raise Rollback
        except Rollback:
            pass
    return times, sqls


def explain(sqls: list[str]) -> list[tuple[str, str, bool]]:
    """(statement, plan, uses a Seq Scan on a big table: one of BIG holding 10,000 rows or more;
    a table of a few rows is read whole by any planner) of each SELECT."""
    from django.db import connection

    found = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples >= 10000")
        big = {row[0] for row in cursor.fetchall()} & set(BIG)
        for sql in sqls:
            statement = sql.strip()
            if not statement.upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN " + statement)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            seq = any(f"Seq Scan on {table} " in plan + " " for table in big)
            found.append((statement, plan, seq))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--receipts", type=int, default=4_000_000)
    parser.add_argument("--online", type=int, default=1_000_000)
    parser.add_argument("--fingerprints", type=float, default=0.6, help="share of the receipts with a fingerprint")
    parser.add_argument("--n", type=int, default=3000, help="assessments timed")
    parser.add_argument("--reuse", action="store_true", help="keep the database; skip the fill when it is there")
    parser.add_argument("--plans", action="store_true", help="print every EXPLAIN in full")
    args = parser.parse_args()

    connection, name = setup_django(args.reuse)
    from django.conf import settings

    settings.ENABLE_ANTIFRAUD = True
    settings.ANTIFRAUD_RULES_CACHE_SECONDS = 10  # production's default (the test settings read them each time)
    print(f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"PostgreSQL {connection.pg_version}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load {os.getloadavg()[0]:.2f}")
    have = counts()
    wanted = {"shop_customer": args.customers, "shop_payment": args.receipts, "payments_payment": args.online}
    if args.reuse and all(have[t] == n for t, n in wanted.items()):
        print(f"reusing {have}")
        with connection.cursor() as cursor:  # the templates are a temp table: made again from nothing
            cursor.execute("CREATE TEMP TABLE bench_templates AS SELECT 0 AS t, 0::bigint AS v WHERE false")
    else:
        if any(have.values()):
            raise SystemExit(f"{name} holds other data {have}: drop it or run without --reuse")
        started = time.perf_counter()
        steps = fill(args.customers, args.receipts, args.online, args.fingerprints)
        total = time.perf_counter() - started
        print(f"fill {total:.1f} s: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
        print(f"rows {counts()}")
    statements: dict[str, int] = {}
    times, sqls = measure(args.n, statements)
    base = percentiles(times["baseline"])
    print(f"\n{'what':<24}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}  p95 x baseline  "
          f"p95 added ms")
    for key, samples in times.items():
        if not samples:
            continue
        p50, p95, p99 = percentiles(samples)
        mean = statistics.fmean(samples) * 1000
        print(f"{key:<24}{len(samples):>6}{p50:>9.2f}{p95:>9.2f}{p99:>9.2f}{mean:>9.2f}  {p95 / base[1]:>13.1f}x  "
              f"{p95 - base[1]:>12.2f}")
    combined = [a + b for a, b in zip(times["receipt"], times["near-duplicate"], strict=True)]
    p50, p95, p99 = percentiles(combined)
    print(f"{'receipt + near-duplicate':<24}{len(combined):>6}{p50:>9.2f}{p95:>9.2f}{p99:>9.2f}{statistics.fmean(combined) * 1000:>9.2f}  "
          f"{p95 / base[1]:>13.1f}x  {p95 - base[1]:>12.2f}")
    print("statements sent (savepoints included), one assessment with nothing fired: "
          + ", ".join(f"{k} {v}" for k, v in statements.items()))
    plans = explain(sqls)
    print(f"\nEXPLAIN of the {len(plans)} SELECTs of one receipt, one near-duplicate lookup, one online payment:")
    for statement, plan, seq in plans:
        nodes = sorted({line.strip().split("  (")[0].lstrip("-> ") for line in plan.splitlines()
                        if "Scan" in line or "Result" in line})
        print(f"  {'SEQ SCAN ON A BIG TABLE' if seq else 'indexed'}: {statement[:110]}")
        print(f"      {'; '.join(nodes)}")
        if args.plans or seq:
            print("      " + plan.replace("\n", "\n      "))
    print(f"\nSeq Scans on a big table: {sum(seq for *_x, seq in plans)}")
    if not args.reuse:
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
