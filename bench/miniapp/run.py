"""Mini App API benchmark: the latency of every /app/api/ endpoint through the production server.

    flock /tmp/vpnbot-bench.lock .venv/bin/python -m bench.miniapp.run                  # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vpnbot_miniapp_bench \\
        flock /tmp/vpnbot-bench.lock .venv/bin/python -m bench.miniapp.run [-n 300]      # PostgreSQL

The product runs as `make run` and docker-compose run it: gunicorn with gunicorn.conf.py
(gthread, cores + 1 workers × 8 threads) serving vpnbot.wsgi with the production settings
(vpnbot.settings), persistent database connections (CONN_MAX_AGE=60), Redis as the cache
(the throttles' counters) and as the Celery broker (no worker: tasks an order enqueues wait).
One client sends N requests per endpoint one after the other on a keep-alive connection, each
with a correctly signed initData (`Authorization: tma …`), after 20 unmeasured ones; the
baseline is GET /healthz (a SELECT 1 and a broker ping) through the same server in the same run.

The data: 12 plans, 3 discounts (a code, two automatic ones); the customer has 5 subscriptions
with panel accounts, 40 wallet transactions, 3 referred friends, one Stars payment; orders are
bought by another customer from a wallet big enough for all of them, each with a fresh
idempotency key. Throttling stays on at the production rate: the cache is emptied between
endpoints (each endpoint's N calls stay within the 1,200 a minute allowed a customer).

A throwaway database is made and dropped: test_<name> on PostgreSQL, a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv/bin/python")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
TOKEN = "123456:BENCH-token-abcdefghijklmnopqrstuvwxyz"
WARMUP = 20


def _database(tmp: Path) -> tuple[str, str, callable]:
    """(DATABASE_URL for the run, what it is, a function that drops it)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        name = f"test_{name}"
        admin = base.replace("postgres://", "postgresql://") + "/postgres"

        def run(sql):
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql)

        run(f"DROP DATABASE IF EXISTS {name}")
        run(f"CREATE DATABASE {name}")
        return f"{base}/{name}", f"PostgreSQL ({name})", lambda: run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    path = tmp / "bench.sqlite3"
    return f"sqlite:///{path}", "SQLite (WAL, a temporary file)", lambda: None


def _env(database_url: str, telegram_url: str) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "vpnbot.settings", "DATABASE_URL": database_url,
            "REDIS_URL": f"{REDIS}/11", "CELERY_BROKER_URL": f"{REDIS}/12", "CONN_MAX_AGE": "60",
            "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BOT_USERNAME": "bench_shop_bot", "TELEGRAM_API_URL": telegram_url,
            "STARS_ENABLED": "true", "LOG_LEVEL": "WARNING", "DEBUG": "false", "MINIAPP_ENABLED": "true"}


def _flush_redis():
    import redis

    for db in (11, 12):
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


def _seed() -> dict:
    """The shop's data, written in this process (django set up on the bench database)."""
    from datetime import timedelta

    from django.utils import timezone

    from discounts.models import SmartDiscount
    from panels.models import Panel, PanelAccount
    from payments.models import Payment
    from vpnbot.shop import services
    from vpnbot.shop.models import Customer, Plan

    now = timezone.now()
    plans = [Plan.objects.create(name=f"Plan {i + 1}", price_amount=50_000 + 10_000 * i, duration_days=30,
                                 traffic_gb=20 * (i % 4), device_limit=1 + i % 3, description="A plan of the benchmark")
             for i in range(12)]
    SmartDiscount.objects.create(kind=SmartDiscount.Kind.CODE, code="SAVE20", percent_bp=2000, title="Code",
                                 starts_at=now - timedelta(days=1), per_customer_limit=None)
    SmartDiscount.objects.create(kind=SmartDiscount.Kind.CONDITIONAL, percent_bp=500, stackable=True, title="Autumn",
                                 starts_at=now - timedelta(days=1), per_customer_limit=None)
    SmartDiscount.objects.create(kind=SmartDiscount.Kind.CONDITIONAL, fixed_amount=2_000, stackable=True,
                                 title="Loyal", starts_at=now - timedelta(days=1), per_customer_limit=None)

    reader = Customer.objects.create(telegram_id=880_000_001, first_name="Sara", username="sara_bench", language="en",
                                     referral_code="benchref1")
    services.wallet_apply(customer_id=reader.pk, amount=2_000_000, reason="adjustment", source="bench:seed")
    panel = Panel.objects.create(name="bench", kind=Panel.Kind.MARZBAN, base_url="https://panel.example.com")
    subs = []
    for i in range(5):
        sub = services.order_checkout(customer_id=reader.pk, plan_id=plans[i].pk, quantity=1,
                                      idempotency_key=f"bench-sub-{i}").order.subscription
        PanelAccount.objects.create(subscription=sub, panel=panel, name=f"bench{sub.pk}", status="active",
                                    expires_at=sub.expires_at, limit_bytes=50 * 1024**3, used_bytes=3 * 1024**3,
                                    subscription_url=f"https://sub.example.com/{sub.pk}/x", synced_at=now)
        subs.append(sub)
    for i in range(35):
        services.wallet_apply(customer_id=reader.pk, amount=1_000 + i, reason="adjustment", source=f"bench:tx:{i}")
    for i in range(3):
        Customer.objects.create(telegram_id=880_000_100 + i, first_name="Friend", language="en",
                                referral_code=f"benchfr{i}", referred_by=reader)
    payment = Payment.objects.create(provider="stars", customer=reader, amount=50_000, currency="XTR",
                                     provider_amount=50)
    from vpnbot.shop.models import TrafficPack

    TrafficPack.objects.create(name="20 GB", traffic_gb=20, price_amount=30_000)

    buyer = Customer.objects.create(telegram_id=880_000_002, first_name="Buyer", language="en",
                                    referral_code="benchbuy1")
    services.wallet_apply(customer_id=buyer.pk, amount=1_000_000_000, reason="adjustment", source="bench:buyer")
    return {"plans": [p.pk for p in plans], "subscription": subs[0].pk, "payment": payment.pk,
            "reader": reader.telegram_id, "buyer": buyer.telegram_id}


def _user(telegram_id: int, name: str) -> dict:
    return {"id": telegram_id, "first_name": name, "last_name": "", "username": f"{name.lower()}_bench",
            "language_code": "en", "allows_write_to_pm": True}


class Client:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, auth: str | None = None, body=None) -> tuple[int, bytes, float]:
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = auth
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        return response.status, payload, (time.perf_counter() - t0) * 1000


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _measure(client: Client, name: str, n: int, make, expect: tuple[int, ...]) -> dict:
    _flush_redis()  # the throttles' counters (and nothing else the measured calls need)
    times = []
    for i in range(WARMUP + n):
        method, path, auth, body = make(i)
        status, payload, ms = client.call(method, path, auth, body)
        if status not in expect:
            raise SystemExit(f"{name}: {method} {path} answered {status}: {payload[:300]!r}")
        if i >= WARMUP:
            times.append(ms)
    row = {"endpoint": name, "n": n, "p50": _percentile(times, 50), "p95": _percentile(times, 95),
           "p99": _percentile(times, 99), "mean": statistics.fmean(times), "max": max(times)}
    print(f"  {name:<28} p50 {row['p50']:6.1f}  p95 {row['p95']:6.1f}  p99 {row['p99']:6.1f}  max {row['max']:6.1f} ms",
          flush=True)
    return row


def first_load() -> dict:
    """What the phone downloads on the first open: the page's script, stylesheet and the QR
    library, gzipped as whitenoise serves them (CompressedStaticFilesStorage, level 9)."""
    static = ROOT / "miniapp/static/miniapp"
    files = {"app.js": static / "app.js", "app.css": static / "app.css", "vendor/qrcode.js": static / "vendor/qrcode.js"}
    sizes = {name: (len(p.read_bytes()), len(gzip.compress(p.read_bytes(), 9))) for name, p in files.items()}
    return sizes


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=300, help="requests per endpoint (default 300)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--telegram-latency", type=float, default=0,
                        help="ms the fake Bot API waits per call in the last case (0: no such case)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="vpnbot-miniapp-bench-"))
    database_url, database, drop = _database(tmp)
    from tests.fakes.telegram import FakeTelegram

    fake = FakeTelegram(token=TOKEN)  # the Bot API: an order's receipt is sent after its commit, in the request
    env = _env(database_url, fake.url)
    os.environ.update({k: v for k, v in env.items() if k not in os.environ or k in (
        "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_BOT_USERNAME", "STARS_ENABLED", "CONN_MAX_AGE", "TELEGRAM_API_URL")})
    web = None
    try:
        print(f"Database: {database}", flush=True)
        subprocess.run([PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        _flush_redis()
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        seeded = _seed()
        from django.db import connections

        connections.close_all()
        from tests.miniapp.conftest import init_data_for

        reader = "tma " + init_data_for(_user(seeded["reader"], "Sara"), TOKEN)
        buyer = "tma " + init_data_for(_user(seeded["buyer"], "Buyer"), TOKEN)

        web = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "vpnbot.wsgi", "--config", "gunicorn.conf.py",
                                "-b", f"127.0.0.1:{args.port}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=open(tmp / "gunicorn.log", "w"), start_new_session=True)
        client = None
        for _ in range(100):
            try:
                client = Client(args.port)
                if client.call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start: " + (tmp / "gunicorn.log").read_text()[-2000:])

        api = "/app/api/"
        plan = seeded["plans"][3]
        status, body, _ms = client.call("POST", api + "quote", buyer, {"plan": plan, "quantity": 1, "code": ""})
        total = json.loads(body)["total_amount"]
        n = args.n
        cases = [
            ("GET /healthz (baseline)", lambda i: ("GET", "/healthz", None, None), (200,)),
            ("GET me", lambda i: ("GET", api + "me", reader, None), (200,)),
            ("GET plans (12, code)", lambda i: ("GET", api + "plans?code=SAVE20", reader, None), (200,)),
            ("POST quote", lambda i: ("POST", api + "quote", reader,
                                      {"plan": seeded["plans"][i % 12], "quantity": 3, "code": "SAVE20"}), (200,)),
            ("GET methods", lambda i: ("GET", api + "methods", reader, None), (200,)),
            ("GET subscriptions (5)", lambda i: ("GET", api + "subscriptions", reader, None), (200,)),
            ("GET traffic-packs", lambda i: ("GET", api + f"traffic-packs?subscription={seeded['subscription']}",
                                             reader, None), (200,)),
            ("GET wallet (20 of 41)", lambda i: ("GET", api + "wallet", reader, None), (200,)),
            ("GET referrals", lambda i: ("GET", api + "referrals", reader, None), (200,)),
            ("GET payments/<id>", lambda i: ("GET", api + f"payments/{seeded['payment']}", reader, None), (200,)),
            ("GET settings", lambda i: ("GET", api + "settings", reader, None), (200,)),
            ("PUT settings", lambda i: ("PUT", api + "settings", reader, {
                "language": "en", "notifications": {"quiet_hours": {"start": "23:00", "end": f"0{i % 8}:30"}}}), (200,)),
            ("POST orders (wallet)", lambda i: ("POST", api + "orders", buyer, {
                "plan": plan, "quantity": 1, "code": "", "idempotency_key": f"bench-order-{i:05d}",
                "expected_total": total}), (201,)),
        ]
        if args.telegram_latency:
            latency = args.telegram_latency

            def order_slow(i):
                fake.latency = latency / 1000
                return ("POST", api + "orders", buyer, {"plan": plan, "quantity": 1, "code": "",
                                                        "idempotency_key": f"bench-slow-{i:05d}", "expected_total": total})

            cases.append((f"POST orders, Bot API +{latency:g} ms", order_slow, (201,)))
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        print(f"Started {started}; load: {os.getloadavg()}; N={n} per endpoint, sequential, keep-alive", flush=True)
        rows = [_measure(client, name, n, make, expect) for name, make, expect in cases]
        print(f"Ended {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; load: {os.getloadavg()}")
        base = rows[0]["p95"]
        print("\n| endpoint | p50 ms | p95 ms | p99 ms | p95 / baseline |\n|---|---|---|---|---|")
        for row in rows:
            mark = "" if row["p95"] < 100 else " **over 100 ms**"
            print(f"| {row['endpoint']} | {row['p50']:.1f} | {row['p95']:.1f} | {row['p99']:.1f} | "
                  f"{row['p95'] / base:.1f}×{mark} |")
        from vpnbot.shop.models import Order

        placed = Order.objects.filter(customer__telegram_id=seeded["buyer"]).count()
        expected = (WARMUP + n) * (2 if args.telegram_latency else 1)
        print(f"\nOrders placed by the buyer: {placed} (expected {expected}: one per key); "
              f"calls at the fake Bot API: {dict(Counter(c.method for c in fake.calls_to()))}")
        sizes = first_load()
        raw, packed = sum(s[0] for s in sizes.values()), sum(s[1] for s in sizes.values())
        status, page, _ms = client.call("GET", "/app/", None, None)
        print("First load (gzip -9): " + ", ".join(f"{k} {v[0] / 1024:.1f} → {v[1] / 1024:.1f} KiB" for k, v in sizes.items())
              + f"; total {raw / 1024:.1f} → {packed / 1024:.1f} KiB; the page /app/ itself {len(page) / 1024:.1f} → "
              f"{len(gzip.compress(page, 9)) / 1024:.1f} KiB (status {status})")
    finally:
        if web is not None:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(timeout=30)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001
            pass
        drop()
        _flush_redis()
        fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
