"""Panels benchmarks.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vpnbot_panels_bench \\
        .venv/bin/python -m bench.panels.run [--accounts 10000] [--sizes 1000,5000,10000] [--purchases 1000]
            [--latency-ms 50] [--workers 1,4,8,16] [--panels marzban,pasarguard,3x-ui,3x-ui-3.6.0]
            [--provision-panel marzban|pasarguard] [--only sync|provision] [--json PATH]

(a) Usage sync (`services.panel_sync`) of N accounts on one fake panel of each kind of --panels,
    at each size of --sizes (up to --accounts): wall time, HTTP calls from the fake's call log
    against the pages needed (Marzban and PasarGuard: ceil(N / 500); 3x-ui 3.1+: ceil(N / 200) of
    clients/list/paged; 3x-ui 2.x answers every client in one call) plus a constant, SQL
    statements, Python heap peak (tracemalloc, in a second run of the same sync) and the peak RSS
    over the run's start. Baseline, in the same run: a bare
    read of the same list with plain httpx (log in, GET every page, parse the JSON): the least
    any sync must do.
(b) Provisioning of --purchases queued purchases against a fake Marzban answering every call
    --latency-ms late: real checkouts queue the tasks (untimed), then --workers threads (Celery's
    concurrency) run the real task `panels.tasks.provision_account` off the queue. Throughput,
    p50/p95 per account, HTTP calls and SQL statements per account, accounts on the panel and
    duplicates. Baseline, in the same run: one bare round trip with plain httpx, sequentially
    (log in, create, read back: the least a verified create takes).

The fake panels (tests/fakes/) and the fake Telegram server run in a child process, so neither
their CPU nor their memory is counted as the shop's. A throwaway database (test_<name>) is
created and dropped.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import queue
import re
import statistics
import sys
import threading
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings_test")

PASSWORD = "Panel-Pa55word-xyz"
GB = 1024**3
KINDS = ("marzban", "pasarguard", "3x-ui", "3x-ui-3.6.0")  # 3x-ui: 2.9.2, the 2.x line
LIST_CALL = re.compile(r"^GET /(api/users|panel/api/inbounds/list|panel/api/clients/list(/paged)?)$")


# --- the fakes, in a child process ---------------------------------------------------------------------

def _fake_main(conn, kind: str) -> None:  # pragma: no cover - runs in the child process
    """Start the fake panel of this kind and a fake Telegram server; answer the parent's commands."""
    from tests.fakes.telegram import FakeTelegram

    telegram = FakeTelegram()
    info: dict = {"kind": kind, "telegram_url": telegram.url, "telegram_token": telegram.token}
    if kind in ("marzban", "pasarguard"):
        from tests.fakes.marzban import FakeMarzban

        fake = FakeMarzban(flavor=kind, password=PASSWORD, subscription_prefix=None)
        fake.add_inbound("vless", "VLESS TCP", port=443)
        info.update(url=fake.url, inbound="VLESS TCP")
        if kind == "pasarguard":
            info["inbound"] = fake.add_group("main", ["VLESS TCP"])
    else:
        from tests.fakes.xui import FakeXui

        fake = FakeXui(version=kind.removeprefix("3x-ui-") if kind != "3x-ui" else "2.9.2", password=PASSWORD)
        info.update(url=fake.url, sub_url=fake.sub_url, inbound=fake.add_inbound("vless", port=443, remark="main"),
                    version=fake.version)
    marzban = kind in ("marzban", "pasarguard")

    def seed(rows):
        if marzban:
            for name, expire, limit, used in rows:
                fake.add_user(name, status="active", expire=expire, data_limit=limit, used_traffic=used)
            fake.user(rows[-1][0])  # the panel's review job runs over the new users now, not in the first call
        else:
            fake.add_clients(info["inbound"], [{"email": name, "totalGB": limit, "expiryTime": expire * 1000,
                                                "enable": True} for name, expire, limit, _used in rows])
            for name, _expire, _limit, used in rows:
                fake.set_usage(name, up=used // 4, down=used - used // 4)
        return len(rows)

    def calls():
        with fake.lock:
            return [(c.method, c.path, getattr(c, "status", None)) for c in fake.calls]

    def clear():
        with fake.lock:
            fake.calls.clear()
        telegram.reset()

    def names():
        if marzban:
            with fake.lock:
                return [rec["username"] for rec in fake._users.values()]
        return [c["email"] for c in fake.clients()]

    def set_latency(seconds):
        fake.latency = seconds

    def sent():
        return len([c for c in telegram.calls if c.method.startswith("send")])

    commands = {"seed": seed, "calls": calls, "clear": clear, "names": names, "latency": set_latency, "sent": sent,
                "cpu": time.process_time, "stop": lambda: None}
    conn.send(info)
    while True:
        command, args = conn.recv()
        try:
            conn.send((True, commands[command](*args)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            conn.send((False, repr(exc)))
        if command == "stop":
            break
    fake.stop()
    telegram.stop()


class Fakes:
    """The parent's handle on the child process running a fake panel and a fake Telegram."""

    def __init__(self, kind: str):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_fake_main, args=(child, kind), daemon=True)
        self.proc.start()
        self.info = self._answer()

    def _answer(self):
        while not self.conn.poll(1):
            if not self.proc.is_alive():
                raise RuntimeError(f"the fakes' process ended (exit code {self.proc.exitcode})")
        return self.conn.recv()

    def __call__(self, command: str, *args):
        self.conn.send((command, args))
        ok, value = self._answer()
        if not ok:
            raise RuntimeError(f"fake {command}: {value}")
        return value

    def stop(self):
        self("stop")
        self.proc.join(10)


# --- the database --------------------------------------------------------------------------------------

def _setup():
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    setup_test_environment(debug=False)
    settings.DEBUG = False
    logging.disable(logging.INFO)  # one line per call and per task would be most of the run's output
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    return old_name


def _teardown(old_name):
    from django.db import connection

    connection.creation.destroy_test_db(old_name, verbosity=0)


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _use_telegram(fakes: Fakes) -> None:
    from django.conf import settings

    settings.TELEGRAM_API_URL = fakes.info["telegram_url"]
    settings.TELEGRAM_BOT_TOKEN = fakes.info["telegram_token"]


def _make_panel(fakes: Fakes, name: str, plan=None):
    from panels import services

    info = fakes.info
    if info["kind"].startswith("3x-ui"):
        fields = {"kind": "3x-ui", "base_url": info["url"], "public_base_url": info["sub_url"],
                  "inbounds": [info["inbound"]]}
    else:
        fields = {"kind": info["kind"], "base_url": info["url"], "public_base_url": "https://sub.example.com",
                  "inbounds": [info["inbound"]]}
    panel = services.panel_create(name=name, username="admin", password=PASSWORD, timeout_seconds=30, **fields)
    if plan is not None:
        panel.plans.add(plan)
    return panel


def _normalise(path: str) -> str:
    path = re.sub(r"/(by-id)/\d+", r"/\1/{id}", path)
    return re.sub(r"/(vs|base)_[^/?]+", "/{name}", path)


def _rss() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in bytes."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0]) * 1024
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux)
        return True
    except OSError:
        return False


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


# --- (a) usage sync --------------------------------------------------------------------------------------

def _sync_row(i: int, base_ts: int, tg_base: int) -> tuple[str, int, int, int]:
    """Account i: its name, expiry (unix seconds), limit and usage. One in a hundred has crossed
    80 % of its traffic (a warning to send), the others are below; one in ten is unlimited."""
    limit = 0 if i % 10 == 9 else (10 + i % 3 * 10) * GB
    share = 85 if i % 100 == 42 else i % 80
    used = (limit or 50 * GB) * share // 100
    return f"vs_{tg_base + i}_{i}", base_ts + (1 + i % 60) * 86400, limit, used


def _seed_sync(fakes: Fakes, panel, plan, start: int, stop: int, base_ts: int, tg_base: int, code: str) -> None:
    from panels.models import PanelAccount
    from vpnbot.shop.models import Customer, Subscription

    now = datetime.fromtimestamp(base_ts, tz=UTC)
    for lo in range(start, stop, 2000):
        hi = min(stop, lo + 2000)
        rows = [_sync_row(i, base_ts, tg_base) for i in range(lo, hi)]
        fakes("seed", rows)
        customers = Customer.objects.bulk_create(
            [Customer(telegram_id=tg_base + i, first_name="Bench", language="en", referral_code=f"{code}{i}")
             for i in range(lo, hi)])
        subs = Subscription.objects.bulk_create(
            [Subscription(customer=c, plan=plan, starts_at=now - timedelta(days=1),
                          expires_at=datetime.fromtimestamp(row[1], tz=UTC), config="https://sub.example.com/sub/x")
             for c, row in zip(customers, rows, strict=True)])
        PanelAccount.objects.bulk_create(
            [PanelAccount(subscription=s, panel=panel, name=row[0], status=PanelAccount.Status.ACTIVE,
                          expires_at=datetime.fromtimestamp(row[1], tz=UTC), limit_bytes=row[2], devices=1,
                          subscription_url="https://sub.example.com/sub/x", remote_id=str(i))
             for i, (s, row) in enumerate(zip(subs, rows, strict=True), start=lo)])


def _bare_read(fakes: Fakes) -> tuple[float, int, int]:
    """The least a sync must do: log in and read the whole list with plain httpx (no model, no
    database). Returns (seconds, calls, users read)."""
    import httpx

    from panels.adapters.marzban import PAGE_SIZE as PAGE

    info = fakes.info
    t0 = time.perf_counter()
    read = calls = 0
    with httpx.Client(base_url=info["url"], timeout=60) as client:
        if info["kind"].startswith("3x-ui"):
            client.headers["X-Requested-With"] = "XMLHttpRequest"
            three_one = info["kind"] != "3x-ui"
            if three_one:  # 3.0+: a CSRF token for the login
                client.headers["X-CSRF-Token"] = client.get("/csrf-token").json()["obj"]
                calls += 1
            client.post("/login", data={"username": "admin", "password": PASSWORD}).raise_for_status()
            calls += 1
            if three_one:  # 3.1+: clients/list/paged, 200 a page, as the adapter reads it
                page = 1
                while True:
                    response = client.get("/panel/api/clients/list/paged", params={"page": page, "pageSize": 200})
                    response.raise_for_status()
                    calls += 1
                    obj = response.json()["obj"]
                    read += len(obj["items"])
                    if len(obj["items"]) < 200 or page * 200 >= obj["total"]:
                        break
                    page += 1
            else:
                response = client.get("/panel/api/inbounds/list")
                response.raise_for_status()
                calls += 1
                read = sum(len(json.loads(ib["settings"])["clients"]) for ib in response.json()["obj"])
        else:
            token = client.post("/api/admin/token", data={"username": "admin", "password": PASSWORD}).json()
            calls += 1
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            offset = 0
            while True:
                params = {"offset": offset, "limit": PAGE}
                if info["kind"] == "pasarguard":
                    params["load_sub"] = "true"
                response = client.get("/api/users", params=params, headers=headers)
                response.raise_for_status()
                calls += 1
                data = response.json()
                offset += len(data["users"])
                if len(data["users"]) < PAGE or offset >= data["total"]:
                    break
            read = offset
    return time.perf_counter() - t0, calls, read


def _reset_sync_state(panel) -> None:
    """Every run starts alike: nothing synced, no warning sent yet."""
    from notifications.models import Notification
    from panels.models import PanelAccount

    PanelAccount.objects.filter(panel=panel).update(synced_at=None, warned_percent=0, used_bytes=0)
    Notification.objects.all().delete()


def _one_sync(fakes: Fakes, panel, *, trace: bool) -> dict:
    from django.db import connection

    from panels import services

    _reset_sync_state(panel)
    fakes("clear")
    counter = QueryCounter()
    rss_before, _ = _rss()
    hwm_ok = _reset_hwm()
    if trace:
        tracemalloc.start()
        tracemalloc.reset_peak()
    cpu0, fake_cpu0, t0 = time.process_time(), fakes("cpu"), time.perf_counter()
    with connection.execute_wrapper(counter):
        result = services.panel_sync(panel_id=panel.pk)
    elapsed = time.perf_counter() - t0
    cpu, fake_cpu = time.process_time() - cpu0, fakes("cpu") - fake_cpu0
    heap_peak = 0
    if trace:
        _current, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    _, hwm = _rss()
    if result.error:
        raise RuntimeError(f"sync failed: {result.error}")
    calls = fakes("calls")
    return {"seconds": elapsed, "cpu_s": cpu, "fake_cpu_s": fake_cpu, "seen": result.seen, "updated": result.updated,
            "drifted": result.drifted,
            "missing": result.missing, "warned": result.warned, "queries": counter.count,
            "http_calls": len(calls), "calls_by_path": dict(Counter(f"{m} {_normalise(p)}" for m, p, _s in calls)),
            "heap_peak_bytes": heap_peak, "rss_over_start_bytes": (hwm - rss_before) if hwm_ok else None,
            "rss_bytes": hwm}


def bench_sync(kinds: list[str], sizes: list[int]) -> list[dict]:
    from django.utils import timezone

    from panels.adapters.marzban import PAGE_SIZE
    from panels.adapters.xui.v3 import PAGE_SIZE as XUI_PAGE_SIZE
    from vpnbot.shop.models import Plan

    results = []
    base_ts = int(timezone.now().timestamp())
    for k, kind in enumerate(kinds):
        fakes = Fakes(kind)
        try:
            _use_telegram(fakes)
            plan = Plan.objects.create(name=f"Sync {kind}", price_amount=100_000, traffic_gb=10)
            panel = _make_panel(fakes, f"sync-{kind}")
            tg_base = 5_000_000_000 + k * 10_000_000
            seeded = 0
            print(f"  [{kind}] {fakes.info.get('version', '')}".rstrip(), flush=True)
            for size in sizes:
                t0 = time.perf_counter()
                _seed_sync(fakes, panel, plan, seeded, size, base_ts, tg_base, code=f"s{k}x")
                seeded = size
                seed_s = time.perf_counter() - t0
                bare = sorted(_bare_read(fakes) for _ in range(3))
                bare_s, bare_calls, bare_read = bare[1]
                if bare_read != size:
                    raise RuntimeError(f"the bare read saw {bare_read} accounts, not {size}")
                run = _one_sync(fakes, panel, trace=False)
                traced = _one_sync(fakes, panel, trace=True)
                # Marzban and PasarGuard page their list by 500, 3x-ui 3.1+ by 200; 2.x answers every client at once
                pages = (1 if kind == "3x-ui" else math.ceil(size / XUI_PAGE_SIZE) if kind.startswith("3x-ui")
                         else math.ceil(size / PAGE_SIZE))
                list_calls = sum(v for k, v in run["calls_by_path"].items() if LIST_CALL.search(k))
                row = {"kind": kind, "accounts": size, "seed_s": seed_s, "pages": pages, "list_calls": list_calls,
                       "other_calls": run["http_calls"] - list_calls, "bare_s": bare_s, "bare_calls": bare_calls, **run,
                       "traced_seconds": traced["seconds"], "heap_peak_bytes": traced["heap_peak_bytes"],
                       "ratio_to_bare": run["seconds"] / bare_s if bare_s else None}
                results.append(row)
                print(f"    {size:>6} accounts: sync {run['seconds']:.2f} s = {row['ratio_to_bare']:.1f}x the bare read "
                      f"({bare_s:.2f} s, {bare_calls} calls); HTTP calls {run['http_calls']} = {list_calls} list calls "
                      f"(pages needed: {pages}) + {row['other_calls']}; SQL {run['queries']}; seen {run['seen']}, "
                      f"updated {run['updated']}, drift {run['drifted']}, warned {run['warned']}; CPU {run['cpu_s']:.2f} s "
                      f"(the fakes {run['fake_cpu_s']:.2f} s); "
                      f"heap peak {traced['heap_peak_bytes'] / 2**20:.2f} MiB (traced run {traced['seconds']:.2f} s); "
                      f"RSS +{(run['rss_over_start_bytes'] or 0) / 2**20:.1f} MiB over {run['rss_bytes'] / 2**20:.0f} MiB",
                      flush=True)
                print("      calls: " + ", ".join(f"{k} ×{v}" for k, v in sorted(run["calls_by_path"].items())),
                      flush=True)
        finally:
            fakes.stop()
    return results


# --- (b) provisioning ------------------------------------------------------------------------------------

def _queue_purchases(plan, n: int, tg_base: int, code: str) -> tuple[list[int], float]:
    """n customers buy the plan through the real checkout; the provisioning tasks it queues go to
    a list (the broker) instead of running. Returns the queued account ids and the seconds taken."""
    from unittest import mock

    from django.db import transaction

    from panels.services import accounts
    from vpnbot.shop import services as shop_services
    from vpnbot.shop.models import Customer

    queued: list[int] = []

    def to_broker(account_id: int) -> None:
        transaction.on_commit(lambda: queued.append(account_id))

    t0 = time.perf_counter()
    customers = Customer.objects.bulk_create(
        [Customer(telegram_id=tg_base + i, first_name="Buyer", language="en", referral_code=f"{code}{i}")
         for i in range(n)])
    with mock.patch.object(accounts, "queue_provision", to_broker):
        for customer in customers:
            shop_services.wallet_apply(customer_id=customer.pk, amount=plan.price_amount, reason="adjustment",
                                       source=f"bench:{customer.pk}")
            shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1,
                                         idempotency_key=f"bench:{code}:{customer.pk}")
    return queued, time.perf_counter() - t0


def _bare_round_trip(fakes: Fakes, n: int) -> float:
    """One new account the shortest way, with plain httpx and a new connection as a task has:
    log in, create, read back. Mean seconds over n, one after the other."""
    import httpx

    info = fakes.info
    times = []
    for j in range(n):
        name = f"base_{os.getpid()}_{j}"
        t0 = time.perf_counter()
        with httpx.Client(base_url=info["url"], timeout=60) as client:
            token = client.post("/api/admin/token", data={"username": "admin", "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            body = {"username": name, "expire": int(time.time()) + 30 * 86400, "data_limit": 10 * GB,
                    "data_limit_reset_strategy": "no_reset", "status": "active"}
            if info["kind"] == "pasarguard":
                body.update(proxy_settings={}, group_ids=[info["inbound"]])
            else:
                body.update(proxies={"vless": {}}, inbounds={"vless": [info["inbound"]]})
            client.post("/api/user", json=body, headers=headers).raise_for_status()
            client.get(f"/api/user/{name}", headers=headers).raise_for_status()
        times.append(time.perf_counter() - t0)
    return statistics.mean(times)


def _provision_round(fakes: Fakes, panel, plan, *, n: int, workers: int, latency: float, tg_base: int,
                     code: str) -> dict:
    from django.db import connection, connections

    from panels import tasks
    from panels.models import PanelAccount
    from vpnbot.shop.models import Subscription

    ids, queue_s = _queue_purchases(plan, n, tg_base, code)
    if len(ids) != n:
        raise RuntimeError(f"{len(ids)} tasks queued for {n} purchases")
    broker: queue.Queue = queue.Queue()
    for account_id in ids:
        broker.put(account_id)
    fakes("clear")
    fakes("latency", latency)
    durations: list[float] = []
    failures: list[tuple[int, str]] = []
    queries = [0] * workers
    barrier = threading.Barrier(workers + 1)

    def worker(w: int) -> None:
        counter = QueryCounter()
        try:
            with connection.execute_wrapper(counter):
                barrier.wait()
                while True:
                    try:
                        account_id = broker.get_nowait()
                    except queue.Empty:
                        return
                    t0 = time.perf_counter()
                    result = tasks.provision_account.apply(args=(account_id,))
                    durations.append(time.perf_counter() - t0)
                    if result.failed():
                        failures.append((account_id, repr(result.result)))
        finally:
            queries[w] = counter.count
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    barrier.wait()
    cpu0, fake_cpu0, t0 = time.process_time(), fakes("cpu"), time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu, fake_cpu = time.process_time() - cpu0, fakes("cpu") - fake_cpu0
    fakes("latency", 0.0)
    calls = fakes("calls")
    statuses = Counter(PanelAccount.objects.filter(pk__in=ids).values_list("status", flat=True))
    expected = {name.lower() for name in PanelAccount.objects.filter(pk__in=ids).values_list("name", flat=True)}
    on_panel = [name.lower() for name in fakes("names") if name.lower() in expected]
    delivered = Subscription.objects.filter(panel_account__pk__in=ids).exclude(config="").count()
    return {"workers": workers, "purchases": n, "queue_s": queue_s, "seconds": wall,
            "per_second": n / wall, "cpu_per_account_s": cpu / n, "fake_cpu_per_account_s": fake_cpu / n,
            "p50_s": _percentile(durations, 50), "p95_s": _percentile(durations, 95),
            "max_s": max(durations), "http_calls": len(calls), "calls_per_account": len(calls) / n,
            "calls_by_path": dict(Counter(f"{m} {_normalise(p)}" for m, p, _s in calls)),
            "errors_5xx": sum(1 for _m, _p, s in calls if s and s >= 500),
            "queries_per_account": sum(queries) / n, "active": statuses.get("active", 0), "statuses": dict(statuses),
            "failures": failures[:5], "on_panel": len(set(on_panel)), "duplicates": len(on_panel) - len(set(on_panel)),
            "missing_on_panel": len(expected - set(on_panel)), "delivered": delivered,
            "telegram_sends": fakes("sent")}


def bench_provision(kind: str, n: int, workers_list: list[int], latency: float) -> dict:
    from vpnbot.shop.models import Plan

    fakes = Fakes(kind)
    try:
        _use_telegram(fakes)
        plan = Plan.objects.create(name="Provision", price_amount=100_000, traffic_gb=10, duration_days=30)
        panel = _make_panel(fakes, f"provision-{kind}", plan=plan)
        fakes("latency", latency)
        baseline = _bare_round_trip(fakes, 20)
        fakes("latency", 0.0)
        print(f"  baseline: a bare round trip (log in, create, read back; 3 calls) takes {baseline * 1000:.0f} ms "
              f"with {latency * 1000:.0f} ms per call", flush=True)
        rounds = []
        for r, workers in enumerate(workers_list):
            row = _provision_round(fakes, panel, plan, n=n, workers=workers, latency=latency,
                                   tg_base=6_000_000_000 + r * 10_000_000, code=f"p{r}x")
            ideal = row["calls_per_account"] * latency
            row.update(baseline_s=baseline, ideal_s=ideal, p50_vs_baseline=row["p50_s"] / baseline,
                       p95_vs_baseline=row["p95_s"] / baseline, p95_vs_ideal=row["p95_s"] / ideal if ideal else None,
                       rate_vs_baseline=row["per_second"] / (workers / baseline))
            rounds.append(row)
            print(f"    {workers:>2} workers: {n} accounts in {row['seconds']:.1f} s = {row['per_second']:.1f}/s "
                  f"({row['rate_vs_baseline']:.0%} of {workers} bare round trips in parallel, "
                  f"{workers / baseline:.1f}/s); per account p50 {row['p50_s'] * 1000:.0f} ms, "
                  f"p95 {row['p95_s'] * 1000:.0f} ms = {row['p95_vs_baseline']:.2f}x the bare round trip, "
                  f"{row['p95_vs_ideal']:.2f}x the ideal ({row['calls_per_account']:.2f} calls x {latency * 1000:.0f} ms"
                  f" = {ideal * 1000:.0f} ms), max {row['max_s'] * 1000:.0f} ms; CPU {row['cpu_per_account_s'] * 1000:.1f} ms"
                  f"/account (the fakes {row['fake_cpu_per_account_s'] * 1000:.1f} ms); SQL "
                  f"{row['queries_per_account']:.1f}/account; active {row['active']}/{n}, on the panel {row['on_panel']}, duplicates "
                  f"{row['duplicates']}, missing {row['missing_on_panel']}, delivered {row['delivered']}, 5xx "
                  f"{row['errors_5xx']}; purchases queued in {row['queue_s']:.1f} s", flush=True)
            print("      calls: " + ", ".join(f"{k} ×{v}" for k, v in sorted(row["calls_by_path"].items())), flush=True)
            if row["failures"]:
                print(f"      failures: {row['failures']}", flush=True)
        return {"kind": kind, "latency_s": latency, "baseline_s": baseline, "rounds": rounds}
    finally:
        fakes.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000, help="the largest sync size")
    parser.add_argument("--sizes", default="1000,5000,10000", help="sync sizes (those above --accounts are dropped)")
    parser.add_argument("--panels", default=",".join(KINDS), help=f"fake panels for the sync, of {', '.join(KINDS)}")
    parser.add_argument("--purchases", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", default="1,4,8,16", help="concurrent provisioning workers, one round each")
    parser.add_argument("--provision-panel", default="marzban", choices=["marzban", "pasarguard"])
    parser.add_argument("--only", choices=["sync", "provision"])
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    sizes = sorted({s for s in (int(x) for x in args.sizes.split(",") if x) if s <= args.accounts} | {args.accounts})
    kinds = [k.strip() for k in args.panels.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown panels {unknown}; choose from {KINDS}")
    old = _setup()
    out: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "load_start": os.getloadavg()}
    try:
        from django.db import connection

        print(f"database: {connection.vendor}; python {sys.version.split()[0]}; cores: {os.cpu_count()}; "
              f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        if args.only in (None, "sync"):
            print(f"(a) usage sync of {', '.join(map(str, sizes))} accounts on one fake panel ({', '.join(kinds)})",
                  flush=True)
            out["sync"] = bench_sync(kinds, sizes)
        if args.only in (None, "provision"):
            print(f"(b) provisioning {args.purchases} queued purchases on a fake {args.provision_panel} answering in "
                  f"{args.latency_ms:g} ms, workers {args.workers}", flush=True)
            out["provision"] = bench_provision(args.provision_panel, args.purchases,
                                               [int(w) for w in args.workers.split(",") if w], args.latency_ms / 1000)
    finally:
        _teardown(old)
    out["load_end"] = os.getloadavg()
    print(f"load at the end {' '.join(f'{x:.2f}' for x in out['load_end'])}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
