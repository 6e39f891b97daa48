"""demo_data benchmark (issue 20: "fast, under 30 s"): a fresh SQLite database as `make run`
makes it, then `manage.py demo_data` (the default: 200 customers over six months), each timed
as a separate process, and the reconciliation of what it made.

    flock /tmp/vpnbot-bench.lock .venv/bin/python -m bench.demo.run [--runs 3]

Baseline, in the same run: `manage.py migrate` of the same empty database (the step `make run`
takes before it). Each run uses a new temporary database file; wall-clock and CPU seconds of
the child process (resource.getrusage) are printed, with the demo's own summary line.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def timed(args: list[str], env: dict) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "manage.py", *args], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    migrate, demo = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/demo.sqlite3", "LANGUAGE_CODE": "en",
                   "LOCAL_CHAT_DIR": f"{folder}/chat"}
            env.pop("TELEGRAM_BOT_TOKEN", None)
            migrate.append(timed(["migrate", "--noinput"], env))
            demo.append(timed(["demo_data"], env))
            check = subprocess.run([sys.executable, "manage.py", "reconcile", "--no-record"], env=env,
                                   capture_output=True, text=True)
            summary = next((line for line in demo[-1][2].splitlines() if line.startswith("Demo shop made")), "")
            print(f"run {run + 1}: migrate {migrate[-1][0]:.1f} s (cpu {migrate[-1][1]:.1f}), demo_data "
                  f"{demo[-1][0]:.1f} s (cpu {demo[-1][1]:.1f}); reconcile exit {check.returncode}\n  {summary}",
                  flush=True)
    walls = [d[0] for d in demo]
    base = statistics.median(m[0] for m in migrate)
    print(f"demo_data median {statistics.median(walls):.1f} s, max {max(walls):.1f} s "
          f"({statistics.median(walls) / base:.1f}x the migrate of the same database, {base:.1f} s); "
          f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
