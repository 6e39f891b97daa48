"""Benchmark: backup_create / backup_restore against the plain tools, same database, same run.

    .venv/bin/python -m bench.backups.run [--size-mb 150] [--vendor postgresql|mysql|both]
        [--prepare-only] [--reuse] [--keep] [--lock /tmp/vpnbot-bench.lock] [--encrypt]

For each vendor it uses a scratch database `vpnbot_backups_bench`: created, migrated and filled
with generated rows up to about --size-mb of table data (`INSERT … SELECT` from
generate_series / the sequence engine, in the server). With --reuse an existing one with the
right row count is used as it is; --keep leaves it behind for the next --reuse run, and
--prepare-only just generates it (so generating need not overlap anything timed). Then it times:
  PostgreSQL: `pg_dump -Fc` vs `manage.py backup_create`; `pg_restore --single-transaction
              --clean --if-exists` vs `manage.py backup_restore --yes --no-safety-backup`
  MariaDB:    `mariadb-dump --single-transaction | gzip` vs `manage.py backup_create` (zstd);
              `gunzip | mariadb` vs `manage.py backup_restore`

Peak memory is the peak RSS of each process on its own:
  - manage.py: the Python process itself, exactly (getrusage(RUSAGE_SELF) at its exit, written
    by a small wrapper that runs manage.py in the same process through runpy; the wrapper only
    imports modules Django imports anyway, so it adds nothing measurable); and, apart from it,
    the largest program it ran (pg_dump, pg_restore, mariadb-dump, mariadb);
  - plain tools: each process of the pipeline (pg_dump; mariadb-dump, gzip), the largest shown.
Programs are measured by sampling their VmHWM every 10 ms, not with wait4()/RUSAGE_CHILDREN:
on Linux a child's ru_maxrss includes the RSS of the process it was forked from, which would
report the pg_dump of a 95 MB Python process as a 95 MB pg_dump.

With --lock PATH every timed step holds an exclusive flock on PATH (the machine's shared
benchmark lock), so other benchmarks do not run at the same time; data generation does not.
The load average when the lock was taken is printed with each figure.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
DB = "vpnbot_backups_bench"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
MY_URL = f"mysql://root@127.0.0.1:3306/{DB}"
ROW_BYTES = 300  # about what one generated row takes
LOCK_PATH: str | None = None

# Runs manage.py in this very process (runpy, as `python manage.py` would) and, at exit, writes
# this process's own peak RSS (exact: getrusage(RUSAGE_SELF)).
_MANAGE = """
import atexit, json, resource, runpy, sys
out = sys.argv[1]
def _report():
    import os
    status = dict(row.split(':', 1) for row in open('/proc/self/status'))
    root = %r
    own = [m for m in list(sys.modules.values()) if (getattr(m, '__file__', None) or '').startswith(root + '/')
           and '/.venv/' not in m.__file__ and m.__file__.endswith('.py')]
    uncached = sum(1 for m in own if not (getattr(m, '__cached__', None) and os.path.exists(m.__cached__)))
    with open(out, 'w') as fh:
        json.dump({'own_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   'anon_kb': int(status['RssAnon'].split()[0]), 'file_kb': int(status['RssFile'].split()[0]),
                   'modules': len(sys.modules), 'own_modules': len(own), 'uncached': uncached}, fh)
atexit.register(_report)
sys.argv = sys.argv[2:]
sys.path.insert(0, %r)
runpy.run_path(sys.argv[0], run_name='__main__')
"""


@contextmanager
def bench_lock():
    """The shared benchmark lock around one timed step (nothing when --lock is not given)."""
    if not LOCK_PATH:
        yield os.getloadavg()[0]
        return
    with open(LOCK_PATH, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield os.getloadavg()[0]
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _status(pid: int) -> tuple[str, int]:
    """(name, VmHWM in kB) of a live process; ("", 0) when it is gone or has no memory."""
    name, hwm = "", 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for row in fh:
                if row.startswith("Name:"):
                    name = row.split()[1]
                elif row.startswith("VmHWM:"):
                    hwm = int(row.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return name, hwm


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


class _Sampler(threading.Thread):
    """Samples VmHWM (the peak RSS of the process's current program) of the measured processes and
    of all their descendants every 10 ms. Not wait4/RUSAGE_CHILDREN: on Linux a child's ru_maxrss
    includes the RSS of the parent it was forked from (exec folds the old address space's peak into
    it), which would report a 95 MB Python's pg_dump as a 95 MB pg_dump. A child still named like
    its Python parent (between fork and exec) is not counted."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.top = dict.fromkeys(pids, 0)
        self.tools: dict[str, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(0.01)

    def sample(self) -> None:
        for pid in self.pids:
            _name, hwm = _status(pid)
            self.top[pid] = max(self.top[pid], hwm)
            todo = _children(pid)
            while todo:
                child = todo.pop()
                name, hwm = _status(child)
                if name and not name.startswith("python"):
                    self.tools[name] = max(self.tools.get(name, 0), hwm)
                todo += _children(child)


def _run_sampled(cmds: list[list[str]], env: dict, stdout_file: str | None, stdin_file: str | None) -> tuple:
    procs, files = [], []
    try:
        prev = open(stdin_file, "rb") if stdin_file else subprocess.DEVNULL
        if stdin_file:
            files.append(prev)
        for i, c in enumerate(cmds):
            last = i == len(cmds) - 1
            if last and stdout_file:
                stdout = open(stdout_file, "wb")
                files.append(stdout)
            else:
                stdout = subprocess.DEVNULL if last else subprocess.PIPE
            p = subprocess.Popen(c, stdin=prev, stdout=stdout, stderr=subprocess.PIPE if last else None,
                                 env=env, cwd=ROOT)
            if i:
                prev.close()
            prev = p.stdout
            procs.append(p)
        sampler = _Sampler([p.pid for p in procs])
        sampler.start()
        _out, err = procs[-1].communicate()
        for p in procs[:-1]:
            p.wait()
        sampler.done.set()
        sampler.join()
    finally:
        for fh in files:
            fh.close()
    for p in procs:
        if p.returncode:
            raise SystemExit(f"{p.args} failed (exit {p.returncode}):\n{(err or b'').decode()[-2000:]}")
    return procs, sampler


def measure(cmd: list[str] | list[list[str]], env: dict, *, stdout_file: str | None = None,
            stdin_file: str | None = None) -> dict:
    """Time a plain command or pipeline; peak RSS of its largest process."""
    cmds = cmd if isinstance(cmd[0], list) else [cmd]
    with bench_lock() as load:
        t = time.monotonic()
        procs, sampler = _run_sampled(cmds, env, stdout_file, stdin_file)
        seconds = time.monotonic() - t
    peaks = {Path(p.args[0]).name: sampler.top[p.pid] for p in procs}
    return {"seconds": seconds, "own_kb": max(peaks.values()), "peaks": peaks, "load": load}


def measure_manage(args: list[str], env: dict) -> dict:
    """Time `python manage.py <args>`: the Python process's own peak RSS, and apart from it the
    peak of each program it ran (pg_dump, pg_restore, mariadb-dump, mariadb)."""
    fd, report = tempfile.mkstemp(prefix="bench-peak-", suffix=".json")
    os.close(fd)
    try:
        argv = [PY, "-c", _MANAGE % (str(ROOT), str(ROOT)), report, str(ROOT / "manage.py"), *args]
        with bench_lock() as load:
            t = time.monotonic()
            _procs, sampler = _run_sampled([argv], env, None, None)
            seconds = time.monotonic() - t
        with open(report) as fh:
            stats = json.load(fh)
    finally:
        os.unlink(report)
    return {**stats, "seconds": seconds, "tools": sampler.tools, "load": load}


def manage(*args: str) -> list[str]:
    return [PY, str(ROOT / "manage.py"), *args]


def _psql(*args: str, db: str = "postgres", capture: bool = False) -> str:
    result = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", *args],
                            check=True, capture_output=capture, text=True)
    return (result.stdout or "").strip()


def _mariadb(sql: str, *, capture: bool = False) -> str:
    result = subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-N", "-e", sql], check=True, text=True,
                            capture_output=capture, stdout=None if capture else subprocess.DEVNULL)
    return (result.stdout or "").strip()


def _existing_rows(vendor: str) -> int | None:
    """Rows of bench_data in an existing bench database, None when there is none."""
    try:
        if vendor == "postgresql":
            if not _psql("-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", capture=True):
                return None
            out = _psql("-tAc", "SELECT count(*) FROM bench_data", db=DB, capture=True)
        else:
            out = _mariadb(f"SELECT COUNT(*) FROM {DB}.bench_data", capture=True)
        return int(out)
    except (subprocess.CalledProcessError, ValueError):
        return None


def _db_size(vendor: str) -> int:
    if vendor == "postgresql":
        return int(_psql("-tAc", "SELECT pg_database_size(current_database())", db=DB, capture=True))
    return int(_mariadb(f"SELECT SUM(data_length + index_length) FROM information_schema.tables "
                        f"WHERE table_schema = '{DB}'", capture=True))


def prepare(vendor: str, size_mb: int, env: dict, reuse: bool) -> str:
    rows = size_mb * 1024 * 1024 // ROW_BYTES
    if reuse and _existing_rows(vendor) == rows:
        subprocess.run(manage("migrate", "-v0"), env=env, cwd=ROOT, check=True)
        return f"{vendor}: reused the database ({rows} rows), size {_db_size(vendor) / 1024 / 1024:.0f} MB"
    drop(vendor)
    if vendor == "postgresql":
        _psql("-qc", f"CREATE DATABASE {DB}")
    else:
        _mariadb(f"CREATE DATABASE {DB} CHARACTER SET utf8mb4")
    subprocess.run(manage("migrate", "-v0"), env=env, cwd=ROOT, check=True)
    t = time.monotonic()
    if vendor == "postgresql":
        # unlogged while filling (no WAL), then logged like any table; the primary key after the data
        _psql("-qc", "CREATE UNLOGGED TABLE bench_data (id bigint, code text, body text, n int, at timestamptz)",
              db=DB)
        _psql("-qc", f"INSERT INTO bench_data SELECT g, md5(g::text), md5((g*7)::text) || "
              f"repeat(md5((g % 5000)::text), 7), g % 1000, now() - (g || ' seconds')::interval "
              f"FROM generate_series(1, {rows}) g", db=DB)
        _psql("-qc", "ALTER TABLE bench_data ADD PRIMARY KEY (id)", db=DB)
        _psql("-qc", "ALTER TABLE bench_data SET LOGGED", db=DB)
        _psql("-qc", "VACUUM ANALYZE bench_data", db=DB)
    else:
        _mariadb(f"USE {DB}; CREATE TABLE bench_data (id bigint PRIMARY KEY, code varchar(32), body text, n int,"
                 " at datetime) ENGINE=InnoDB;"
                 " SET SESSION unique_checks = 0; SET SESSION foreign_key_checks = 0;"
                 " INSERT INTO bench_data SELECT seq, md5(seq), concat(md5(seq*7), repeat(md5(seq % 5000), 7)),"
                 f" seq % 1000, now() - interval seq second FROM seq_1_to_{rows}; ANALYZE TABLE bench_data;")
    return (f"{vendor}: {rows} rows generated in {time.monotonic() - t:.1f} s, database size "
            f"{_db_size(vendor) / 1024 / 1024:.0f} MB")


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
    tools = m.get("tools") or {}
    if tools:
        name = max(tools, key=tools.get)
        tool = f"  {name} {tools[name] / 1024:.1f} MB"
    elif len(m.get("peaks") or {}) > 1:
        tool = "  (" + ", ".join(f"{k} {v / 1024:.1f} MB" for k, v in m["peaks"].items()) + ")"
    else:
        tool = ""
    detail = ""
    if "anon_kb" in m:  # a manage.py run: what its RSS is made of at exit
        detail = (f"  [at exit: anon {m['anon_kb'] / 1024:.1f} + files {m['file_kb'] / 1024:.1f} MB, "
                  f"{m['modules']} modules, {m['uncached']}/{m['own_modules']} project ones compiled from source]")
    return (f"  {label:<40} {m['seconds']:7.2f} s  peak {m['own_kb'] / 1024:6.1f} MB{extra}"
            f"  (load {m['load']:.2f}){tool}{detail}")


def bytecode_state() -> str:
    """Whether the project's own modules have bytecode caches: without them (PYTHONDONTWRITEBYTECODE=1,
    as here and in the Docker image) every start compiles them from source, about 2 MB and 0.2 s more."""
    dirs = [d for top in ROOT.iterdir() if top.is_dir() and top.name not in (".venv", ".git", "node_modules")
            for d in top.rglob("__pycache__")]
    return (f"project bytecode caches: {len(dirs)} __pycache__ directories"
            + (" (modules compiled from source at every start)" if not dirs else ""))


def bench(vendor: str, size_mb: int, encrypt: bool, reuse: bool, keep: bool) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="bench-backups-"))
    env = {**os.environ, "DATABASE_URL": PG_URL if vendor == "postgresql" else MY_URL, "BACKUP_DIR": str(work / "bk"),
           "BACKUP_CHAT_ID": "", "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "vpnbot.settings"}
    env["BACKUP_ENCRYPTION_KEY"] = "bench-secret-key-0123456789" if encrypt else ""
    out = [prepare(vendor, size_mb, env, reuse)]
    print(out[0], flush=True)
    out.append(f"{vendor}, about {size_mb} MB of table data{', encrypted' if encrypt else ''}:")
    plain = str(work / "plain.dump")
    try:
        out.append(line("(Django start-up: check --tag models)", measure_manage(["check", "--tag", "models"], env)))
        if vendor == "postgresql":
            m_plain = measure(["pg_dump", "-Fc", "-h", "127.0.0.1", "-U", "postgres", "-f", plain, DB], env)
            label = "pg_dump -Fc"
        else:
            m_plain = measure([["mariadb-dump", "-h127.0.0.1", "-uroot", "--single-transaction", "--routines",
                                "--triggers", "--hex-blob", "--quick", DB], ["gzip", "-6"]], env, stdout_file=plain)
            label = "mariadb-dump | gzip"
        out.append(line(label, m_plain, os.path.getsize(plain)))
        print(out[-1], flush=True)
        m_ours = measure_manage(["backup_create", "--no-telegram"], env)
        ours_file = max((work / "bk").glob("*.vbk"), key=os.path.getmtime)
        out.append(line("manage.py backup_create", m_ours, os.path.getsize(ours_file)))
        out.append(f"  ratio backup_create / plain: {m_ours['seconds'] / m_plain['seconds']:.2f}x")
        print("\n".join(out[-2:]), flush=True)
        backup_id = newest_backup_id(env)
        # ours first: the plain dump predates the backup row, restoring it empties the catalogue
        r_ours = measure_manage(["backup_restore", backup_id, "--yes", "--no-safety-backup"], env)
        print(line("manage.py backup_restore", r_ours), flush=True)
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
        if not keep:
            drop(vendor)
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return out


def main() -> None:
    global LOCK_PATH
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=150)
    parser.add_argument("--vendor", choices=["postgresql", "mysql", "both"], default="both")
    parser.add_argument("--encrypt", action="store_true", help="also a run with BACKUP_ENCRYPTION_KEY set")
    parser.add_argument("--reuse", action="store_true", help="use an existing bench database of the same size")
    parser.add_argument("--keep", action="store_true", help="leave the bench database for a later --reuse")
    parser.add_argument("--prepare-only", action="store_true",
                        help="only generate (or check) the bench database and keep it; time later with --reuse")
    parser.add_argument("--lock", metavar="PATH", help="hold an exclusive flock on PATH during each timed step")
    args = parser.parse_args()
    if args.size_mb < 1:
        parser.error("--size-mb must be at least 1")
    LOCK_PATH = args.lock
    vendors = ["postgresql", "mysql"] if args.vendor == "both" else [args.vendor]
    report = [f"bench.backups {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores; "
              f"{bytecode_state()}"]
    if args.prepare_only:
        for vendor in vendors:
            env = {**os.environ, "DATABASE_URL": PG_URL if vendor == "postgresql" else MY_URL,
                   "DJANGO_SETTINGS_MODULE": "vpnbot.settings", "LOG_LEVEL": "WARNING"}
            print(prepare(vendor, args.size_mb, env, reuse=True))
        return
    for vendor in vendors:
        report += bench(vendor, args.size_mb, False, args.reuse, args.keep)
        if args.encrypt:
            report += bench(vendor, args.size_mb, True, True, args.keep)
    print("\n".join(report))


if __name__ == "__main__":
    main()
