"""Webhook benchmark: the product (gunicorn + Celery, PostgreSQL + Redis) against
python-telegram-bot's built-in webhook server (running the shop's own handlers, and answering
with a fixed reply), in the same run, on the same updates.

    bench/webhook/run.sh [--connections 4,16,32] [--seconds 10] [--e2e 100]
    BENCH_NO_WORKER=1          acknowledgements alone (the product's worker does not run)
    BENCH_CONTENDERS=product,PTB+shop,PTB hello   which servers to measure (default: all three)

Measures, with wrk as the client: acknowledgement throughput and latency with a few and with
many concurrent connections (Telegram opens up to 40; at saturation latency is queueing,
about connections / throughput), and end-to-end latency (POST of /start → sendMessage seen
at the fake Telegram server).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.fakes.telegram import FakeTelegram  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
SECRET = "bench-secret"
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vpnbot_bench")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.post(url, content=b"{}", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def update(update_id: int, user_id: int) -> bytes:
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": "/start",
        "entities": [{"offset": 0, "length": 6, "type": "bot_command"}],
        "from": {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": "en"},
        "chat": {"id": user_id, "type": "private"}}}).encode()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def ack_wrk(url: str, connections: int, seconds: int, first_id: int) -> dict:
    """wrk (C, one thread) posting distinct updates over `connections` keep-alive connections."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(ROOT / "bench/webhook/updates.lua"),
                          url, "--", str(first_id), SECRET], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    result = json.loads(line[5:])
    result["connections"] = connections
    return result


def e2e(url: str, fake: FakeTelegram, n: int, first_id: int, interval: float = 0.1) -> dict:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    client = httpx.Client(timeout=30)
    starts: dict[int, float] = {}
    for i in range(n):
        chat = 80_000_000 + first_id + i
        starts[chat] = time.monotonic()
        client.post(url, content=update(first_id + i, chat), headers=headers)
        time.sleep(interval)
    deadline = time.monotonic() + 30
    latencies = {}
    while time.monotonic() < deadline and len(latencies) < n:
        for call in fake.calls_to("sendMessage"):
            if call.chat_id in starts and call.chat_id not in latencies:
                latencies[call.chat_id] = call.at - starts[call.chat_id]
        time.sleep(0.05)
    values = list(latencies.values())
    return {"updates": n, "answered": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99)}


def drain(fake: FakeTelegram, expected: int, timeout: float = 180) -> None:
    """Wait until the load phase is fully processed: no update of the product's inbox left
    unprocessed (or, for PTB, every reply sent), so the next phase starts on an idle worker."""
    import psycopg

    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if fake.product:
            with psycopg.connect(PG_URL.replace("postgres://", "postgresql://")) as conn:
                left = conn.execute("SELECT count(*) FROM telegram_telegramupdate WHERE status IN ('received', 'processing')"
                                    ).fetchone()[0]
            if left == 0:
                break
        elif len(fake.calls_to("sendMessage")) >= expected:
            break
        time.sleep(0.5)
    print(f"  drained in {time.monotonic() - started:.0f}s", file=sys.stderr)
    time.sleep(1)


def product_env(fake: FakeTelegram) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "vpnbot.settings", "DATABASE_URL": PG_URL, "REDIS_URL": f"{REDIS}/9",
            "CELERY_BROKER_URL": f"{REDIS}/10", "CONN_MAX_AGE": "60", "TELEGRAM_API_URL": fake.url,
            "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "WARNING",
            # the fake server enforces no limit: let the backlog drain fast between phases
            "TELEGRAM_MAX_MESSAGES_PER_SECOND": "1000",
            "ENABLE_CRM": os.environ.get("ENABLE_CRM", "true")}


def start_product(fake: FakeTelegram, port: int) -> list[subprocess.Popen]:
    env = product_env(fake)
    db_name = PG_URL.rsplit("/", 1)[1]
    subprocess.run(["psql", PG_URL.rsplit("/", 1)[0] + "/postgres", "-qc", f"CREATE DATABASE {db_name}"],
                   stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    subprocess.run([PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["psql", PG_URL, "-qc", "TRUNCATE telegram_telegramupdate"], check=True, stdout=subprocess.DEVNULL)
    import redis

    for db in (9, 10):
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()
    # the production setup: gunicorn.conf.py (gthread, cpu_count + 1 workers, 8 threads each)
    gunicorn_args = os.environ.get("BENCH_GUNICORN_ARGS", "").split()
    web = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "vpnbot.wsgi", "--config", "gunicorn.conf.py",
                            "-b", f"127.0.0.1:{port}", *gunicorn_args,
                            "--log-level", "warning"], cwd=ROOT, env=env)
    nice = ["nice", "-n", os.environ.get("BENCH_WORKER_NICE", "10")]
    concurrency = os.environ.get("BENCH_WORKER_CONCURRENCY", "4")
    worker = subprocess.Popen([*nice, str(ROOT / ".venv/bin/celery"), "-A", "vpnbot", "worker", "-c", concurrency, "-l", "WARNING",
                               "--without-gossip", "--without-mingle", "--without-heartbeat"], cwd=ROOT, env=env)
    if os.environ.get("BENCH_NO_WORKER"):  # acknowledgements alone: the queue just grows
        worker.terminate()
        return [web]
    return [web, worker]


def stop(processes):
    for p in processes:
        p.terminate()
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=lambda v: [int(x) for x in v.split(",")], default=[4, 16, 32],
                        help="comma-separated numbers of concurrent connections (Telegram uses up to 40)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each acknowledgement run")
    parser.add_argument("--e2e", type=int, default=100)
    args = parser.parse_args()
    fake = FakeTelegram()
    base_id = int(time.time()) * 10_000
    results = {}

    port = free_port()
    fake.product = True
    procs = start_product(fake, port)
    try:
        url = f"http://127.0.0.1:{port}/telegram/webhook/"
        wait_http(url)
        ack_wrk(url, 4, 2, base_id)  # warm-up: processes, connections, the Application
        drain(fake, 1, timeout=120)
        fake.reset()
        if not os.environ.get("BENCH_NO_WORKER"):
            results["product e2e"] = e2e(url, fake, args.e2e, base_id + 300_000)  # on an idle worker
        for c in args.connections:
            fake.reset()
            results[f"product ack c{c}"] = ack_wrk(url, c, args.seconds, base_id + c * 1_000_000)
            results[f"product ack c{c}"]["answered_during"] = len(fake.calls_to("sendMessage"))
            if not os.environ.get("BENCH_NO_WORKER"):
                drain(fake, 0, timeout=300)  # the next run starts with no backlog, as PTB's do
    finally:
        stop(procs)

    # python-telegram-bot's run_webhook, first with the product's own handlers (the shop on
    # PTB's server), then with a fixed reply (the least work PTB's server can do per update)
    contenders = os.environ.get("BENCH_CONTENDERS", "product,PTB+shop,PTB hello").split(",")
    for label, mode, offset in (("PTB+shop", "product", 50_000_000), ("PTB hello", "hello", 150_000_000)):
        if label not in contenders:
            continue
        port = free_port()
        fake.product = False
        ptb = subprocess.Popen([PY, str(ROOT / "bench/webhook/ptb_server.py"), fake.url, fake.token, str(port), SECRET, mode],
                               cwd=ROOT, env=product_env(fake))
        try:
            url = f"http://127.0.0.1:{port}/telegram/webhook/"
            wait_http(url)
            fake.reset()
            warm = ack_wrk(url, 4, 2, base_id + offset)
            drain(fake, warm["requests"], timeout=300)
            fake.reset()
            results[f"{label} e2e"] = e2e(url, fake, args.e2e, base_id + offset + 700_000)
            for c in args.connections:
                fake.reset()
                results[f"{label} ack c{c}"] = ack_wrk(url, c, args.seconds, base_id + offset + 10_000_000 + c * 1_000_000)
                processed = len(fake.calls_to("sendMessage"))
                results[f"{label} ack c{c}"]["answered_during"] = processed
                drain(fake, results[f"{label} ack c{c}"]["requests"], timeout=300)
        finally:
            stop([ptb])
    fake.stop()

    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} cores; {args.seconds}s per run; e2e={args.e2e}")
    print(f"{'acknowledgement':24} {'conns':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'answered':>9}")
    for c in args.connections:
        for label in ("product", "PTB+shop", "PTB hello"):
            r = results.get(f"{label} ack c{c}")
            if r is None:
                continue
            print(f"{label:24} {c:6d} {r['rps']:8.0f} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} "
                  f"{r['errors'] + r['non2xx']:7d} {r.get('answered_during', '')!s:>9}")
    print(f"{'end to end':24} {'answered':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name in ("product e2e", "PTB+shop e2e", "PTB hello e2e"):
        if name not in results:
            continue
        r = results[name]
        print(f"{name:24} {r['answered']:>4}/{r['updates']:<3} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
