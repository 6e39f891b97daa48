"""Notification benchmarks.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vpnbot_notifications_bench \
        .venv/bin/python -m bench.notifications.run [--customers 10000] [--subscriptions 1000000] [--only broadcast|scan]

(a) a broadcast to --customers customers against the fake Telegram server enforcing 30 messages/s
    (answering 429 past it), with 50 ms of HTTP latency: sustained rate, lost, duplicates, 429 share;
    then the same with paid broadcast (allow_paid_broadcast, 1000/s).
(b) the expiry scan over --subscriptions subscriptions (PostgreSQL): time, rows created, and a rerun.

A throwaway database (test_<name>) is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings_test")


def _setup():
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return old_name


def _teardown(old_name):
    from django.db import connection

    connection.creation.destroy_test_db(old_name, verbosity=0)


class RecordingFake:
    """The fake Telegram server, also recording the answer of each send."""

    def __init__(self):
        from tests.fakes.telegram import FakeTelegram

        self.fake = FakeTelegram()
        self.answers: list[tuple[int, int, float]] = []
        original = self.fake._answer
        lock = threading.Lock()

        def answer(method, params):
            status, payload = original(method, params)
            if method.startswith("send"):
                with lock:
                    self.answers.append((int(params.get("chat_id")), status, time.monotonic()))
            return status, payload

        self.fake._answer = answer

    def reset(self):
        self.fake.reset()
        self.answers.clear()


def _make_customers(n: int) -> list[int]:
    from vpnbot.shop.models import Customer

    base = 2_000_000_000
    Customer.objects.bulk_create(
        [Customer(telegram_id=base + i, username=f"b{i}", first_name="Bench", language="en", referral_code=f"bench{i}")
         for i in range(n)], batch_size=2000)
    return list(Customer.objects.filter(telegram_id__gte=base).values_list("telegram_id", flat=True))


def _broadcast_once(rec: RecordingFake, chat_ids: list[int], *, paid: bool, label: str, workers: int, threads: int) -> dict:
    from django.conf import settings
    from django.db import connections

    from notifications import services
    from notifications.models import Notification

    rec.reset()
    rec.fake.rate_limit = 1000 if paid else 30
    rec.fake.latency = 0.05
    settings.TELEGRAM_API_URL = rec.fake.url
    settings.TELEGRAM_BOT_TOKEN = rec.fake.token
    settings.NOTIFICATION_ALLOW_PAID_BROADCAST = paid
    settings.NOTIFICATION_SEND_THREADS = threads
    t0 = time.monotonic()
    b = services.broadcast_create(created_by=None, text=f"Benchmark {label}", paid=paid)
    b = services.broadcast_start(broadcast_id=b.pk)
    t_insert = time.monotonic() - t0

    def worker(_i):
        try:
            services.broadcast_run(broadcast_id=b.pk, time_budget=3600)
        finally:
            connections.close_all()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    last_report = started
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        if time.monotonic() - last_report >= 30:
            ok = sum(1 for _c, s, _t in rec.answers if s == 200)
            print(f"    … {ok} delivered after {time.monotonic() - started:.0f} s", flush=True)
            last_report = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    ok = [(c, t) for c, s, t in rec.answers if s == 200]
    delivered = Counter(c for c, _t in ok)
    rejected = sum(1 for _c, s, _t in rec.answers if s == 429)
    times = sorted(t for _c, t in ok)
    span = (times[-1] - times[0]) if len(times) > 1 else elapsed
    wanted = set(chat_ids)
    b.refresh_from_db()
    errors = Counter(Notification.objects.filter(broadcast=b).exclude(last_error="").values_list("last_error", flat=True))
    if errors:
        print("    errors met (retried):", dict(errors.most_common(3)))
    return {
        "label": label, "recipients": len(wanted), "insert_s": t_insert, "elapsed_s": elapsed,
        "delivered": len(delivered), "sustained_per_s": (len(times) - 1) / span if span else 0.0,
        "overall_per_s": len(times) / elapsed if elapsed else 0.0,
        "lost": len(wanted - set(delivered)), "duplicates": sum(v - 1 for v in delivered.values() if v > 1),
        "send_calls": len(rec.answers), "rejected_429": rejected,
        "share_429": rejected / len(rec.answers) if rec.answers else 0.0,
        "db_sent": Notification.objects.filter(broadcast=b, status="sent").count(), "status": b.status,
    }


def bench_broadcast(n: int, workers: int, threads: int, paid_threads: int, rate: float, which=("free", "paid")) -> list[dict]:
    from django.conf import settings

    settings.TELEGRAM_MAX_MESSAGES_PER_SECOND = rate
    settings.TELEGRAM_PER_CHAT_INTERVAL = 1.0
    settings.TELEGRAM_PAID_BROADCAST_PER_SECOND = 1000.0
    settings.NOTIFICATION_BATCH_SIZE = 100
    settings.NOTIFICATION_BROADCAST_PROGRESS_SECONDS = 5
    settings.NOTIFICATION_DEFAULT_QUIET_HOURS = ""
    rec = RecordingFake()
    chat_ids = _make_customers(n)
    results = []
    if "free" in which:
        results.append(_broadcast_once(rec, chat_ids, paid=False, label=f"limit 30/s, sender at {rate:g}/s",
                                       workers=workers, threads=threads))
    if "paid" in which:
        results.append(_broadcast_once(rec, chat_ids, paid=True, label="paid, limit 1000/s", workers=workers,
                                       threads=paid_threads))
    rec.fake.stop()
    return results


def _generate_subscriptions(n: int) -> float:
    """n subscriptions over n/5 customers, expiring uniformly from 10 days ago to 50 days ahead."""
    from django.db import connection
    from django.utils import timezone

    from vpnbot.shop.models import Plan

    plan = Plan.objects.create(name="Bench", price_amount=100_000)
    customers = max(1, n // 5)
    now = timezone.now()
    t0 = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO shop_customer (telegram_id, username, first_name, last_name, language, telegram_language, "
            "time_zone, referral_code, is_operator, balance_amount, joined_at) "
            "SELECT 3000000000 + i, '', 'Bench', '', 'en', '', '', 'sc' || i, false, 0, %s FROM generate_series(1, %s) i",
            [now, customers])
        cursor.execute("SELECT min(id) FROM shop_customer WHERE telegram_id > 3000000000")
        first = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO shop_subscription (customer_id, plan_id, starts_at, expires_at, status, config, created_at) "
            "SELECT %s + (i %% %s), %s, %s - interval '30 days', "
            "%s - interval '10 days' + (i * (60.0 * 86400 / %s)) * interval '1 second', "
            "CASE WHEN i %% 60 < 10 THEN 'expired' ELSE 'active' END, 'vless://x', %s FROM generate_series(1, %s) i",
            [first, customers, plan.pk, now, now, n, now, n])
        cursor.execute("ANALYZE shop_subscription; ANALYZE shop_customer")
    return time.monotonic() - t0


def bench_scan(n: int) -> dict:
    from django.db import connection

    from notifications import services
    from notifications.models import Notification

    if connection.vendor != "postgresql":
        print("  (b) needs PostgreSQL: skipped")
        return {}
    from django.utils import timezone

    generate_s = _generate_subscriptions(n)
    now = timezone.now()
    t0 = time.monotonic()
    created = services.notification_scan_expiries(now=now)
    first_s = time.monotonic() - t0
    t0 = time.monotonic()
    again = services.notification_scan_expiries(now=now)  # the same moment: nothing new may appear
    rerun_s = time.monotonic() - t0
    later = timezone.now()
    t0 = time.monotonic()
    moved = services.notification_scan_expiries(now=later)  # a few seconds on: only stage crossings
    later_s = time.monotonic() - t0
    return {"subscriptions": n, "generate_s": generate_s, "created": created, "scan_s": first_s,
            "rerun_created": again, "rerun_s": rerun_s, "later_created": moved, "later_s": later_s,
            "later_gap_s": (later - now).total_seconds(), "rows": Notification.objects.count()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="broadcast workers (threads running broadcast_run)")
    parser.add_argument("--threads", type=int, default=8, help="NOTIFICATION_SEND_THREADS per worker")
    parser.add_argument("--paid-threads", type=int, default=10, help="NOTIFICATION_SEND_THREADS per worker, paid run")
    parser.add_argument("--rate", type=float, default=29.0, help="TELEGRAM_MAX_MESSAGES_PER_SECOND of the sender")
    parser.add_argument("--only", choices=["broadcast", "free", "paid", "scan"])
    args = parser.parse_args(argv)
    old = _setup()
    try:
        from django.db import connection

        print(f"database: {connection.vendor}; python {sys.version.split()[0]}; cores: {os.cpu_count()}")
        if args.only in (None, "broadcast", "free", "paid"):
            print(f"(a) broadcast to {args.customers} customers, {args.workers} worker(s) × {args.threads} sending threads "
                  f"({args.paid_threads} when paid), fake Telegram: 50 ms latency, 429 past its limit")
            for r in bench_broadcast(args.customers, args.workers, args.threads, args.paid_threads, args.rate,
                                     which=[args.only] if args.only in ("free", "paid") else ["free", "paid"]):
                print(f"  [{r['label']}] delivered {r['delivered']}/{r['recipients']} in {r['elapsed_s']:.1f} s; "
                      f"sustained {r['sustained_per_s']:.2f} msg/s (overall {r['overall_per_s']:.2f}); lost {r['lost']}; "
                      f"duplicates {r['duplicates']}; 429s {r['rejected_429']}/{r['send_calls']} = {r['share_429']:.2%}; "
                      f"recipients written in {r['insert_s']:.2f} s; broadcast {r['status']}, {r['db_sent']} rows sent")
        if args.only in (None, "scan"):
            print(f"(b) expiry scan over {args.subscriptions} subscriptions")
            r = bench_scan(args.subscriptions)
            if r:
                print(f"  generated in {r['generate_s']:.1f} s; scan created {r['created']} notifications in {r['scan_s']:.2f} s; "
                      f"rerun (same moment) created {r['rerun_created']} in {r['rerun_s']:.2f} s; "
                      f"rerun {r['later_gap_s']:.1f} s later created {r['later_created']} (subscriptions that crossed a "
                      f"3-day/1-day/expiry boundary meanwhile) in {r['later_s']:.2f} s")
    finally:
        _teardown(old)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
