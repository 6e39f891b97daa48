"""Time the reports (issue 18) on a big shop: a 30-day report, the 12-month cohort table, the
full reconciliation and the XLSX export of a month's ledger, each against a bare scan of the
same rows measured in the same run, and EXPLAIN (ANALYZE, BUFFERS) the slowest statements.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vpnbot_bench_reports \\
        .venv/bin/python -m bench.reports.run [--customers 1000000] [--orders 5000000] \\
        [--ledger 10000000] [--n 20] [--n-full 3] [--n-export 1] [--budget 240] [--timeout 600] \\
        [--jit off] [--exports-ref BRANCH] [--reuse] [--fill-only] [--only "a;b"] [--json FILE]

PostgreSQL only. The data goes to a database of its own, vpnbot_bench_reports (made with the
migrations; dropped at the end unless --reuse keeps it; --reuse with the same sizes skips the
fill). The fill is set-based SQL (bench/reports/fill.py says how it is built): customers who
joined over the last 13 months (a quarter referred, one in 5000 a reseller), 6 plans, 2
panels, orders (2 % cancelled, ~3 % refunded, discounts of 8 SmartDiscount kinds with their
uses, a reseller's price on resellers' orders, 15 % paid online directly, 10 % with cashback),
their subscriptions (renewal chains, free trials, resold accounts) and panel accounts, card
receipts and online payments, referral rewards, and the wallet ledger with every money row's
source, balance_after and balance_amount consistent. After the fill the full reconcile() must
say ok.

The measurement runs under flock(/tmp/vpnbot-bench.lock) (taken here, not by the shell), the
fill does not. Each call: one warm-up with its statements captured, then --n timed runs
(--n-full for the full reconciliation), p50 / p95 / max, fewer runs when they would pass
--budget seconds (a call whose warm-up alone passes it has that one sample), and a statement
over --timeout seconds stops the call. The baselines, in the same run: a bare count+sum of the
30 days' ledger rows (for the 30-day calls), of all orders (cohorts) and of the whole ledger
(the full reconciliation). Then EXPLAIN (ANALYZE, BUFFERS) of the slowest distinct SELECTs.

The exports (reports/services/exports.py; --exports-ref BRANCH loads it from a branch not yet
merged): the bare read of the rows through a server-side cursor, ledger_xlsx into a temporary
file and ledger_csv, for the last day, week and 30 days, each one run with its peak RSS growth
(/proc/self/clear_refs + VmHWM) and, for the day and the week (--export-heap all: the 30 days
too), a second run under tracemalloc for the heap peak.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

BENCH_DB = "vpnbot_bench_reports"
LOCK = "/tmp/vpnbot-bench.lock"
BIG = ("shop_customer", "shop_order", "shop_subscription", "shop_wallettransaction", "shop_payment", "payments_payment",
       "discounts_discountusage", "discounts_cashbacktransaction", "panels_panelaccount", "shop_referralreward")


def setup_django(reuse: bool, db: str = BENCH_DB):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings_test")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("PostgreSQL only: set DATABASE_URL=postgres://...")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = db
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=reuse)
    return connection, name


def counts() -> dict[str, int]:
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for table in BIG + ("resellers_reseller", "shop_trial"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            found[table] = cursor.fetchone()[0]
    return found


def meta_read() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_meta') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return {}
        cursor.execute("SELECT value FROM bench_meta")
        row = cursor.fetchone()
    return json.loads(row[0]) if row else {}


def meta_write(meta: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (value text)")
        cursor.execute("DELETE FROM bench_meta")
        cursor.execute("INSERT INTO bench_meta VALUES (%s)", [json.dumps(meta)])


def pct(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return at(0.50), at(0.95), ordered[-1]


def timed(fn, n: int, budget: float) -> tuple[list[float], float, list[dict]]:
    """A warm-up (its statements captured), then n timed runs (fewer when n of them would pass
    `budget` seconds; none when the warm-up alone passed it: its own time is then the one
    sample). Returns the samples, the warm-up's time and its statements; a call that passes
    the statement_timeout gives no samples."""
    from django.db import connection
    from django.db.utils import OperationalError
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    try:
        with CaptureQueriesContext(connection) as captured:
            fn()  # warm-up
    except OperationalError as exc:
        print(f"    stopped by the statement_timeout: {str(exc).splitlines()[0]}")
        return [], time.perf_counter() - started, []
    warm = time.perf_counter() - started
    if warm > budget:
        return [warm], warm, captured.captured_queries
    out = []
    for _i in range(min(n, max(1, int(budget // max(warm, 1e-6))))):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out, warm, captured.captured_queries


def timed_once(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def raw(sql: str, params=()):
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    return run


def read_rows(period) -> int:
    """The bare read of a period's ledger rows into Python, through a server-side cursor (the
    export's floor: what any export must at least do)."""
    from django.db import connection, transaction

    n = 0
    with transaction.atomic(), connection.connection.cursor(name="bench_read") as cursor:
        cursor.itersize = 5000
        cursor.execute("SELECT id, created_at, customer_id, reason, source, amount, balance_after, note "
                       "FROM shop_wallettransaction WHERE created_at >= %s AND created_at < %s ORDER BY id",
                       [period.start, period.end])
        for _row in cursor:
            n += 1
    return n


def load_exports(ref: str) -> bool:
    """reports.services.exports from the tree, or (--exports-ref) from a git branch not yet
    merged: the file as it is in that commit, loaded under its own module name."""
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("reports.services.exports") is not None:
        return True
    if not ref:
        return False
    source = subprocess.run(["git", "show", f"{ref}:reports/services/exports.py"], capture_output=True, text=True,
                            check=True).stdout
    commit = subprocess.run(["git", "rev-parse", "--short", ref], capture_output=True, text=True, check=True).stdout
    path = os.path.join(tempfile.mkdtemp(prefix="bench-exports-"), "exports.py")
    with open(path, "w") as out:
        out.write(source)
    spec = importlib.util.spec_from_file_location("reports.services.exports", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["reports.services.exports"] = module
    spec.loader.exec_module(module)
    print(f"  reports/services/exports.py is not in this tree: measured from {ref} ({commit.strip()})")
    return True


def rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current RSS (Linux 4.0+)
        return True
    except OSError:
        return False


def memory_of(fn, heap: bool) -> dict:
    """The time and peak RSS growth of one call (no warm-up: an export is long enough), and
    (heap=True) its peak heap under tracemalloc in a second call (tracemalloc slows it down)."""
    import gc

    gc.collect()
    reset_peak()
    before = rss_kib("VmRSS")
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    rss_peak = rss_kib("VmHWM")
    out = {"result": result, "seconds": seconds, "rss_before_mib": before / 1024, "rss_peak_mib": rss_peak / 1024,
           "rss_growth_mib": (rss_peak - before) / 1024, "heap_peak_mib": None}
    if heap:
        gc.collect()
        tracemalloc.start()
        fn()
        out["heap_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def explain(statements: list[tuple[float, str, str]], limit: int) -> list[dict]:
    from django.db import connection, transaction
    from django.db.utils import OperationalError

    out = []
    with connection.cursor() as cursor:
        for seconds, where, sql in statements[:limit]:
            try:
                with transaction.atomic():
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
            except OperationalError:  # over the statement_timeout: the plan without running it
                cursor.execute("EXPLAIN " + sql)
                plan = "(not run: over the statement_timeout)\n" + "\n".join(row[0] for row in cursor.fetchall())
            seqs = sorted({table for table in BIG if f"Seq Scan on {table} " in plan + " "})
            out.append({"seconds": seconds, "where": where, "sql": sql, "plan": plan, "seq_scans": seqs})
    return out


def main() -> None:  # noqa: C901 - one straight script
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--ledger", type=int, default=10_000_000)
    parser.add_argument("--n", type=int, default=20, help="timed runs of each report call")
    parser.add_argument("--n-full", type=int, default=3, help="timed runs of the full reconcile()")
    parser.add_argument("--n-export", type=int, default=1, help="timed runs of each export (no warm-up)")
    parser.add_argument("--export-heap", choices=("short", "all"), default="short",
                        help="tracemalloc's heap peak of the 1-day and 1-week XLSX (short) or of the 30 days too")
    parser.add_argument("--skip-reports", action="store_true", help="time the exports only")
    parser.add_argument("--reuse", action="store_true", help="keep the database; skip the fill when it is there")
    parser.add_argument("--only", default="", help="names of the calls to time, separated by ; (default all)")
    parser.add_argument("--explain", type=int, default=8, help="EXPLAIN ANALYZE this many slowest statements")
    parser.add_argument("--db", default=BENCH_DB, help="the benchmark's database")
    parser.add_argument("--fill-only", action="store_true", help="fill (and keep) the database, measure nothing")
    parser.add_argument("--timeout", type=float, default=600, help="statement_timeout (s) while measuring")
    parser.add_argument("--budget", type=float, default=240, help="seconds of timed runs per call at most")
    parser.add_argument("--jit", choices=("default", "off"), default="default",
                        help="off: SET jit = off on the connection before measuring (the server's default is on)")
    parser.add_argument("--exports-ref", default="",
                        help="when reports/services/exports.py is not in the tree, measure it from this git ref")
    parser.add_argument("--rebuild-rollup", action="store_true",
                        help="roll up every closed day again (timed) instead of only the missing ones")
    parser.add_argument("--json", default="", help="write the figures and plans to this file")
    args = parser.parse_args()

    connection, name = setup_django(args.reuse or args.fill_only, args.db)
    from bench.reports.fill import fill
    from reports import services as reports
    from reports.services.periods import day_range

    print(f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"PostgreSQL {connection.pg_version}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    wanted = {"customers": args.customers, "orders": args.orders, "ledger": args.ledger}
    meta = meta_read()
    if args.reuse and meta.get("sizes") == wanted:
        print(f"reusing the fill of {meta['filled_at']} (anchor {meta['anchor']})")
        fill_report = meta
    else:
        if meta or counts()["shop_customer"]:
            raise SystemExit(f"{name} holds other data: drop it or run without --reuse")
        anchor = datetime.now(UTC).replace(second=0, microsecond=0)
        print(f"fill (anchor {anchor.isoformat()}):", flush=True)
        started = time.perf_counter()
        steps = fill(args.customers, args.orders, args.ledger, anchor)
        total = time.perf_counter() - started
        fill_report = {"sizes": wanted, "anchor": anchor.isoformat(), "filled_at": time.strftime(
            "%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": total, "steps": steps, "rows": counts(),
            "load_after_fill": os.getloadavg()[0]}
        meta_write(fill_report)
        print(f"fill {total:.1f} s; rows {fill_report['rows']}", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM shop_wallettransaction WHERE balance_after < 0")
            print(f"ledger rows with balance_after < 0: {cursor.fetchone()[0]}")
        started = time.perf_counter()
        check = reports.reconcile()
        fill_report["reconcile_ok"] = check.ok
        meta_write(fill_report)
        print(f"reconcile() after the fill: ok={check.ok} in {time.perf_counter() - started:.1f} s; problems: "
              + json.dumps([{k: p.as_dict()[k] for k in ("check", "count", "rows")} for p in check.problems],
                           default=str)[:3000], flush=True)

    if args.fill_only:
        return
    anchor = datetime.fromisoformat(fill_report["anchor"])
    from reports.models import ReconciliationRun
    from reports.services.cohorts import cohort_months_missing
    from reports.services.periods import JALALI, local_today, month_of, month_period
    from reports.services.rollup import rollup_day, rollup_missing
    from reports.services.runs import reconciliation_run

    last = local_today(anchor)
    month = day_range(last - timedelta(days=29), last, calendar=JALALI)  # = period_parse("30d") at the anchor
    week = day_range(last - timedelta(days=6), last, calendar=JALALI)
    past = month_period(*month_of(month.first_day - timedelta(days=1), JALALI), calendar=JALALI)  # a closed month
    print(f"30-day period: {month.label} ({month.start.isoformat()} .. {month.end.isoformat()}); "
          f"a closed month: {past.label}")

    ledger_30 = ("SELECT count(*), sum(amount) FROM shop_wallettransaction WHERE created_at >= %s AND created_at < %s",
                 [month.start, month.end])
    calls = {
        "baseline: ledger 30 d count+sum": (raw(*ledger_30), args.n, None),
        "baseline: orders 30 d count+sum": (raw("SELECT count(*), sum(paid_amount) FROM shop_order "
                                                "WHERE paid_at >= %s AND paid_at < %s", [month.start, month.end]),
                                            args.n, None),
        "baseline: all orders count+sum": (raw("SELECT count(*), sum(paid_amount) FROM shop_order"), args.n, None),
        "baseline: all ledger count+sum": (raw("SELECT count(*), sum(amount) FROM shop_wallettransaction"),
                                           args.n_full, None),
        "rollup_day(yesterday)": (lambda: rollup_day(last - timedelta(days=1)), min(args.n, 3), None),
        "report_financial(30 d)": (lambda: reports.report_financial(month), args.n, "baseline: ledger 30 d count+sum"),
        "report_financial(30 d, no reconciliation)": (
            lambda: reports.report_financial(month, with_reconciliation=False), args.n,
            "baseline: ledger 30 d count+sum"),
        f"report_financial({past.label})": (lambda: reports.report_financial(past), args.n,
                                             "baseline: ledger 30 d count+sum"),
        "reconcile(30 d)": (lambda: reports.reconcile(month), args.n, "baseline: ledger 30 d count+sum"),
        "report_sales(30 d)": (lambda: reports.report_sales(month), args.n, "baseline: ledger 30 d count+sum"),
        "report_customers(30 d)": (lambda: reports.report_customers(month), args.n, "baseline: ledger 30 d count+sum"),
        "series(30 d)": (lambda: reports.series(month), args.n, "baseline: ledger 30 d count+sum"),
        "report_cohorts(12, jalali)": (lambda: reports.report_cohorts(12, calendar="jalali", now=anchor), args.n,
                                       "baseline: all orders count+sum"),
        "report_cohorts(12, gregorian)": (lambda: reports.report_cohorts(12, calendar="gregorian", now=anchor), args.n,
                                          "baseline: all orders count+sum"),
        "reconcile() full": (lambda: reports.reconcile(), args.n_full, "baseline: all ledger count+sum"),
    }
    only = {x.strip() for x in args.only.split(";") if x.strip()}

    print(f"waiting for {LOCK} ...", flush=True)
    waited = time.perf_counter()
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        print(f"lock taken after {time.perf_counter() - waited:.0f} s, "
              f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        results: dict[str, dict] = {}
        statements: list[tuple[float, str, str]] = []
        load_start = os.getloadavg()
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(args.timeout * 1000)}")
            if args.jit == "off":
                cursor.execute("SET jit = off")
            cursor.execute("SHOW jit")
            print(f"  jit = {cursor.fetchone()[0]}")
        began = time.perf_counter()
        done = rollup_missing(rebuild=args.rebuild_rollup)
        prep = {"rollup_missing": {**done, "seconds": time.perf_counter() - began}}
        print(f"  rollup_missing(rebuild={args.rebuild_rollup}): {done['days']} days ({done['first']}..{done['last']}) "
              f"in {time.perf_counter() - began:.1f} s", flush=True)
        began = time.perf_counter()
        months = cohort_months_missing(rebuild=args.rebuild_rollup)
        prep["cohort_months_missing"] = {"months": months, "seconds": time.perf_counter() - began}
        print(f"  cohort_months_missing(): {months} months in {time.perf_counter() - began:.1f} s", flush=True)
        if not ReconciliationRun.objects.exists():  # what a report of a big period carries (the nightly run's)
            began = time.perf_counter()
            run = reconciliation_run(by="bench")
            prep["reconciliation_run"] = {"ok": run.ok, "seconds": time.perf_counter() - began,
                                          "problems": [p["check"] for p in run.problems]}
            print(f"  reconciliation_run() (the nightly job's): ok={run.ok} in {time.perf_counter() - began:.1f} s",
                  flush=True)
        for label, (fn, n, _base) in calls.items():
            if (only and label not in only and not label.startswith("baseline")) or (
                    args.skip_reports and not label.startswith("baseline")):
                continue
            samples, warm, queries = timed(fn, n, args.budget)
            results[label] = {"n": len(samples), "samples": samples, "warm_up": warm}
            if not samples:
                print(f"  {label:<44} over the {args.timeout:.0f} s statement_timeout", flush=True)
                continue
            statements += [(float(q["time"]), label, q["sql"]) for q in queries]
            results[label]["statements"] = len(queries)
            p50, p95, top = pct(samples)
            print(f"  {label:<44} n {len(samples):>2}  p50 {p50 * 1000:>9.1f}  p95 {p95 * 1000:>9.1f}  "
                  f"max {top * 1000:>9.1f} ms  ({len(queries)} statements)", flush=True)

        exports = load_exports(args.exports_ref)
        export_results = {}
        if exports:
            from reports.services import exports as ex

            def read(period):
                return lambda: read_rows(period)

            def xlsx(period):
                def run():
                    with tempfile.TemporaryFile() as sink:  # a file on disk, as the API streams it back
                        rows = ex.ledger_xlsx(period, sink)
                        sizes.append(sink.tell())
                    return rows
                return run

            def csv(period):
                def run():
                    size = 0
                    for chunk in ex.ledger_csv(period):
                        size += len(chunk)
                    return size
                return run

            sizes: list[int] = []
            day = day_range(last, last, calendar=JALALI)
            heap_of = {"ledger_xlsx, 1 day", "ledger_xlsx, 1 week"} if args.export_heap == "short" else {
                "ledger_xlsx, 1 day", "ledger_xlsx, 1 week", "ledger_xlsx, 30 days"}
            for label, fn in (("bare read of the rows, 1 day", read(day)), ("bare read of the rows, 1 week", read(week)),
                              ("bare read of the rows, 30 days", read(month)),
                              ("ledger_xlsx, 1 day", xlsx(day)), ("ledger_xlsx, 1 week", xlsx(week)),
                              ("ledger_xlsx, 30 days", xlsx(month)), ("ledger_csv, 1 week", csv(week))):
                if only and label not in only:
                    continue
                mem = memory_of(fn, label in heap_of)
                samples = [mem["seconds"]] + [timed_once(fn) for _i in range(args.n_export - 1)]
                export_results[label] = {"n": len(samples), "samples": samples, **mem}
                if label.startswith("ledger_xlsx") and sizes:
                    export_results[label]["file_mib"] = sizes[-1] / 2**20
                    mem["result"] = f"{mem['result']:,} rows, {sizes[-1] / 2**20:.1f} MiB file"
                heap = f"heap peak {mem['heap_peak_mib']:.1f} MiB" if mem["heap_peak_mib"] is not None else ""
                shown = mem["result"] if isinstance(mem["result"], str) else f"{mem['result']:,}"
                print(f"  {label:<44} {mem['seconds']:>8.1f} s  {shown}  {heap}  "
                      f"RSS {mem['rss_before_mib']:.0f} -> peak {mem['rss_peak_mib']:.0f} MiB "
                      f"(+{mem['rss_growth_mib']:.1f})", flush=True)
        else:
            print("  reports/services/exports.py is not there: the export is not measured")
        load_end = os.getloadavg()
        statements.sort(key=lambda s: -s[0])
        seen: set[str] = set()
        slow = []
        for item in statements:  # the same statement in two calls (a period's reconciliation) once
            if item[2].lstrip().upper().startswith("SELECT") and item[2] not in seen:
                seen.add(item[2])
                slow.append(item)
        plans = explain(slow, args.explain)
        print(f"measured until {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load "
              f"{' '.join(f'{x:.2f}' for x in load_end)}")

    print(f"\n{'call':<44}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'stmts':>6}  p95 / baseline")
    for label, r in results.items():
        if not r["samples"]:
            print(f"{label:<44}  over the {args.timeout:.0f} s statement_timeout")
            continue
        p50, p95, top = pct(r["samples"])
        base = calls[label][2]
        ratio = ""
        if base and results.get(base, {}).get("samples"):
            ratio = f"{p95 / pct(results[base]['samples'])[1]:.1f}x {base.removeprefix('baseline: ')}"
        r.update(p50=p50, p95=p95, max=top)
        print(f"{label:<44}{r['n']:>4}{p50 * 1000:>10.1f}{p95 * 1000:>10.1f}{top * 1000:>10.1f}{r['statements']:>6}  "
              f"{ratio}")
    if export_results:
        base = export_results.get("bare read of the rows, 30 days")
        for label, r in export_results.items():
            p50, p95, top = pct(r["samples"])
            r.update(p50=p50, p95=p95, max=top)
            ratio = f"{p50 / pct(base['samples'])[0]:.1f}x bare read 30 d" if base else ""
            print(f"{label:<44}{r['n']:>4}{p50 * 1000:>10.1f}{p95 * 1000:>10.1f}{top * 1000:>10.1f}      {ratio}")
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the {len(plans)} slowest SELECTs:")
    for item in plans:
        print(f"\n-- {item['seconds'] * 1000:.0f} ms in {item['where']}; Seq Scans on big tables: "
              f"{', '.join(item['seq_scans']) or 'none'}\n{item['sql'][:1500]}\n{item['plan']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"fill": fill_report, "period": [month.start.isoformat(), month.end.isoformat()],
                       "load": [load_start, load_end], "results": results, "prepared": prep, "exports": export_results,
                       "plans": plans}, out, indent=1, default=str)
    if not args.reuse:
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
