"""Benchmark: backup_create / backup_restore against the plain tools, same database, same run.

    .venv/bin/python -m bench.backups.run [--size-mb 150] [--vendor postgresql|mysql|both]

For each vendor it creates a scratch database `vpnbot_backups_bench`, migrates it, fills a
table with generated rows up to about --size-mb of table data, then times:
  PostgreSQL: `pg_dump -Fc` vs `manage.py backup_create`; `pg_restore --single-transaction
              --clean --if-exists` vs `manage.py backup_restore --yes --no-safety-backup`
  MariaDB:    `mariadb-dump --single-transaction | gzip` vs `manage.py backup_create` (zstd);
              `gunzip | mariadb` vs `manage.py backup_restore`
Peak memory: the own peak RSS of the measured process (wait4) and the largest descendant
(pg_dump / mariadb-dump / the client). Then it drops the database.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
DB = "vpnbot_backups_bench"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
MY_URL = f"mysql://root@127.0.0.1:3306/{DB}"
ROW_BYTES = 300  # about what one generated row takes


def measure(cmd: list[str] | list[list[str]], env: dict, *, stdout_file: str | None = None,
            stdin_file: str | None = None) -> dict:
    """Run a command (or a pipeline of commands) in a fresh measuring child; returns seconds,
    the peak RSS of the first process itself and of the largest of all its descendants."""
    code = (
        "import os, resource, subprocess, sys, time, json\n"
        "cmds = json.loads(sys.argv[1]); out = sys.argv[2] or None; inp = sys.argv[3] or None\n"
        "t = time.monotonic(); procs = []\n"
        "prev = open(inp, 'rb') if inp else subprocess.DEVNULL\n"
        "for i, c in enumerate(cmds):\n"
        "    last = i == len(cmds) - 1\n"
        "    stdout = (open(out, 'wb') if out else subprocess.DEVNULL) if last else subprocess.PIPE\n"
        "    p = subprocess.Popen(c, stdin=prev, stdout=stdout)\n"
        "    if i: prev.close()\n"
        "    prev = p.stdout\n"
        "    procs.append(p)\n"
        "own = 0\n"
        "for p in procs:\n"
        "    _pid, status, ru = os.wait4(p.pid, 0)\n"
        "    own = max(own, ru.ru_maxrss)\n"
        "    if status: sys.exit('failed: %s' % p.args)\n"
        "print(json.dumps({'seconds': time.monotonic() - t, 'own_kb': own,\n"
        "                  'max_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    import json

    cmds = cmd if isinstance(cmd[0], list) else [cmd]
    result = subprocess.run([PY, "-c", code, json.dumps(cmds), stdout_file or "", stdin_file or ""], env=env,
                            cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{cmds} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def manage(*args: str) -> list[str]:
    return [PY, str(ROOT / "manage.py"), *args]


def prepare(vendor: str, size_mb: int, env: dict) -> None:
    rows = size_mb * 1024 * 1024 // ROW_BYTES
    if vendor == "postgresql":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}"], check=True)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB}"], check=True)
    else:
        subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e",
                        f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB} CHARACTER SET utf8mb4"], check=True)
    subprocess.run(manage("migrate", "-v0"), env=env, cwd=ROOT, check=True)
    t = time.monotonic()
    if vendor == "postgresql":
        sql = ("CREATE TABLE bench_data (id bigint PRIMARY KEY, code text, body text, n int, at timestamptz);"
               f"INSERT INTO bench_data SELECT g, md5(g::text), md5((g*7)::text) || repeat(md5((g % 5000)::text), 7),"
               f" g % 1000, now() - (g || ' seconds')::interval FROM generate_series(1, {rows}) g;")
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-qc", sql], check=True)
        size = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-tAc",
                               "SELECT pg_database_size(current_database())"], capture_output=True, text=True,
                              check=True).stdout.strip()
    else:
        sql = (f"USE {DB}; CREATE TABLE bench_data (id bigint PRIMARY KEY, code varchar(32), body text, n int,"
               " at datetime) ENGINE=InnoDB;"
               " INSERT INTO bench_data SELECT seq, md5(seq), concat(md5(seq*7), repeat(md5(seq % 5000), 7)),"
               f" seq % 1000, now() - interval seq second FROM seq_1_to_{rows}; ANALYZE TABLE bench_data;")
        subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", sql], check=True, stdout=subprocess.DEVNULL)
        size = subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-N", "-e",
                               f"SELECT SUM(data_length + index_length) FROM information_schema.tables "
                               f"WHERE table_schema = '{DB}'"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"{vendor}: {rows} rows generated in {time.monotonic() - t:.1f} s, database size "
          f"{int(size) / 1024 / 1024:.0f} MB")


def drop(vendor: str) -> None:
    if vendor == "postgresql":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"],
                       check=False)
    else:
        subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS {DB}"], check=False)


def newest_backup_id(env: dict) -> str:
    out = subprocess.run(manage("backup_list", "--limit", "1"), env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return out.split()[0]


def line(label: str, m: dict, size: int | None = None) -> str:
    extra = f"  file {size / 1024 / 1024:7.1f} MB" if size is not None else ""
    return (f"  {label:<44} {m['seconds']:7.2f} s  own peak {m['own_kb'] / 1024:6.1f} MB  "
            f"largest process {m['max_kb'] / 1024:6.1f} MB{extra}")


def bench(vendor: str, size_mb: int, encrypt: bool) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="bench-backups-"))
    env = {**os.environ, "DATABASE_URL": PG_URL if vendor == "postgresql" else MY_URL, "BACKUP_DIR": str(work / "bk"),
           "BACKUP_CHAT_ID": "", "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "vpnbot.settings"}
    env["BACKUP_ENCRYPTION_KEY"] = "bench-secret-key-0123456789" if encrypt else ""
    prepare(vendor, size_mb, env)
    out = [f"{vendor}, about {size_mb} MB of table data{', encrypted' if encrypt else ''}:"]
    plain = str(work / "plain.dump")
    try:
        base = measure(manage("check"), env)
        out.append(line("(fixed cost: manage.py check, Django start-up)", base))
        if vendor == "postgresql":
            m_plain = measure(["pg_dump", "-Fc", "-h", "127.0.0.1", "-U", "postgres", "-f", plain, DB], env)
            label = "pg_dump -Fc"
        else:
            m_plain = measure([["mariadb-dump", "-h127.0.0.1", "-uroot", "--single-transaction", "--routines",
                                "--triggers", "--hex-blob", "--quick", DB], ["gzip", "-6"]], env, stdout_file=plain)
            label = "mariadb-dump | gzip"
        m_ours = measure(manage("backup_create", "--no-telegram"), env)
        ours_file = max((work / "bk").glob("*.vbk"), key=os.path.getmtime)
        out.append(line(label, m_plain, os.path.getsize(plain)))
        out.append(line("manage.py backup_create", m_ours, os.path.getsize(ours_file)))
        out.append(f"  ratio backup_create / plain: {m_ours['seconds'] / m_plain['seconds']:.2f}x")
        backup_id = newest_backup_id(env)
        # ours first: the plain dump predates the backup row, restoring it empties the catalogue
        r_ours = measure(manage("backup_restore", backup_id, "--yes", "--no-safety-backup"), env)
        if vendor == "postgresql":
            r_plain = measure(["pg_restore", "--single-transaction", "--clean", "--if-exists", "--no-owner",
                               "-h", "127.0.0.1", "-U", "postgres", "-d", DB, plain], env)
            label = "pg_restore --single-transaction --clean"
        else:
            r_plain = measure([["gunzip", "-c"], ["mariadb", "-h127.0.0.1", "-uroot", DB]], env, stdin_file=plain)
            label = "gunzip | mariadb"
        out.append(line(label, r_plain))
        out.append(line("manage.py backup_restore", r_ours))
        out.append(f"  ratio backup_restore / plain: {r_ours['seconds'] / r_plain['seconds']:.2f}x")
    finally:
        drop(vendor)
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=150)
    parser.add_argument("--vendor", choices=["postgresql", "mysql", "both"], default="both")
    parser.add_argument("--encrypt", action="store_true", help="also a run with BACKUP_ENCRYPTION_KEY set")
    args = parser.parse_args()
    if args.size_mb < 1:
        parser.error("--size-mb must be at least 1")
    vendors = ["postgresql", "mysql"] if args.vendor == "both" else [args.vendor]
    report = [f"bench.backups {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores"]
    for vendor in vendors:
        report += bench(vendor, args.size_mb, False)
        if args.encrypt:
            report += bench(vendor, args.size_mb, True)
    print("\n".join(report))


if __name__ == "__main__":
    main()
