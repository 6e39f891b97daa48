"""Vendor engines: dump, restore and inspect PostgreSQL, MySQL/MariaDB and SQLite.

External programs run with argument lists (never a shell); the password travels in the
environment (PGPASSWORD) or a temporary 0600 option file (MariaDB), never on the command line.
Everything streams: a dump is read from the tool's stdout in 256 KiB pieces.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

CHUNK = 1024 * 1024
# Read from a dump tool's stdout in pieces this big: a pipe holds 64 KiB, so a bigger read only
# waits longer, and while the next piece is read the previous one is still alive (two at once).
STREAM_CHUNK = 256 * 1024
Write = Callable[[bytes], None]


class EngineError(Exception):
    """A dump or restore failed; the message is safe to show to an admin."""


class ToolMissing(EngineError):
    pass


# --- per-table statistics -----------------------------------------------------------------

def _norm(value):
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _table_stats(cursor_for: Callable[[], object], tables: list[str], quote: Callable[[str], str],
                 checksums: bool) -> dict:
    """{table: {"rows": n, "checksum": hex}}; the checksum is an order-independent sum of
    row hashes, so no ORDER BY is needed and the same data gives the same value."""
    stats = {}
    for table in tables:
        if not checksums:
            cur = cursor_for()
            cur.execute(f"SELECT COUNT(*) FROM {quote(table)}")
            stats[table] = {"rows": int(cur.fetchone()[0])}
            cur.close()
            continue
        cur = cursor_for(stream=True)
        cur.execute(f"SELECT * FROM {quote(table)}")
        total, rows = 0, 0
        while batch := cur.fetchmany(2000):
            for row in batch:
                digest = hashlib.sha256(repr(tuple(_norm(v) for v in row)).encode()).digest()
                total = (total + int.from_bytes(digest, "big")) % (1 << 256)
                rows += 1
        cur.close()
        stats[table] = {"rows": rows, "checksum": f"{total:064x}"}
    return stats


def _tail(path: Path, limit: int = 1500) -> str:
    try:
        data = path.read_bytes()[-limit:]
    except OSError:
        return ""
    return data.decode(errors="replace").strip()


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def _stream_process(args: list[str], write: Write, *, env: dict, stderr_path: Path, progress=None) -> None:
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=env, stdin=subprocess.DEVNULL)
        done = reported = 0
        try:
            while chunk := proc.stdout.read(STREAM_CHUNK):
                write(chunk)
                done += len(chunk)
                if progress and done - reported >= CHUNK:
                    progress("dump", done)
                    reported = done
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            proc.stdout.close()
        code = proc.wait()
    if code != 0:
        raise EngineError(f"{Path(args[0]).name} failed (exit {code}): {_tail(stderr_path)}")


def _feed_process(args: list[str], chunks: Iterable[bytes], *, env: dict, stderr_path: Path) -> None:
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        code = proc.wait()
    if code != 0:
        raise EngineError(f"{Path(args[0]).name} failed (exit {code}): {_tail(stderr_path)}")


def _run(args: list[str], *, env: dict, stderr_path: Path) -> None:
    with open(stderr_path, "wb") as err:
        code = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env).returncode
    if code != 0:
        raise EngineError(f"{Path(args[0]).name} failed (exit {code}): {_tail(stderr_path)}")


class Engine:
    vendor = ""
    # the dump is already compressed by the tool (PostgreSQL's custom format)
    self_compressing = False

    def __init__(self, settings_dict: dict, *, django_connection=None):
        self.settings = dict(settings_dict)
        self.django_connection = django_connection

    @property
    def database(self) -> str:
        return str(self.settings["NAME"])

    def with_database(self, name: str) -> Engine:
        return type(self)({**self.settings, "NAME": name})

    # the interface
    def server_version(self) -> str:
        raise NotImplementedError

    def check_tools(self) -> str:
        return ""

    def dump(self, write: Write, *, workdir: Path, compress: bool, checksums: bool, progress=None) -> dict:
        raise NotImplementedError

    def restore(self, chunks: Iterable[bytes], *, workdir: Path, clean: bool = True) -> None:
        raise NotImplementedError

    def inspect(self, *, checksums: bool) -> dict:
        raise NotImplementedError

    def create_scratch(self, suffix: str) -> Engine:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError


# --- PostgreSQL -------------------------------------------------------------------------------

class PostgresEngine(Engine):
    vendor = "postgresql"
    self_compressing = True
    package = "postgresql-client"

    def _connect(self, dbname: str | None = None, autocommit: bool = True):
        import psycopg

        s = self.settings
        params = {"dbname": dbname or self.database, "user": s.get("USER") or None,
                  "password": s.get("PASSWORD") or None, "host": s.get("HOST") or None,
                  "port": str(s.get("PORT")) if s.get("PORT") else None}
        for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            if key in (s.get("OPTIONS") or {}):
                params[key] = s["OPTIONS"][key]
        return psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=autocommit)

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self.settings.get("PASSWORD"):
            env["PGPASSWORD"] = str(self.settings["PASSWORD"])
        opts = self.settings.get("OPTIONS") or {}
        if "sslmode" in opts:
            env["PGSSLMODE"] = str(opts["sslmode"])
        return env

    def _conn_args(self, dbname: str | None = None) -> list[str]:
        s = self.settings
        args = []
        if s.get("HOST"):
            args += ["-h", str(s["HOST"])]
        if s.get("PORT"):
            args += ["-p", str(s["PORT"])]
        if s.get("USER"):
            args += ["-U", str(s["USER"])]
        args += ["-d", dbname or self.database]
        return args

    def server_version(self) -> str:
        with self._connect() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def _tool(self, name: str) -> tuple[str, int]:
        path = shutil.which(name)
        if not path:
            raise ToolMissing(f"{name} is not installed: install the Debian package {self.package} "
                              f"(the same major version as the server or newer)")
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
        match = re.search(r"(\d+)(?:\.(\d+))?", out)
        if not match:
            raise ToolMissing(f"cannot read the version of {path}: reinstall {self.package}")
        return path, int(match.group(1))

    def check_tools(self) -> str:
        with self._connect() as conn:
            server_major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
        text = ""
        for name in ("pg_dump", "pg_restore"):
            path, major = self._tool(name)
            if major < server_major:
                raise ToolMissing(f"{name} {major} is older than the PostgreSQL server {server_major}: "
                                  f"install the Debian package {self.package}-{server_major} "
                                  f"({self.package} from the PostgreSQL apt repository)")
            text = f"{name} {major}"
        return text

    def _tables(self, conn) -> list[str]:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _quote(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def _stats(self, conn, checksums: bool) -> dict:
        counter = iter(range(1, 10**9))

        def cursor_for(stream: bool = False):
            return conn.cursor(name=f"bk{next(counter)}") if stream else conn.cursor()

        tables = self._tables(conn)
        migrations = []
        if "django_migrations" in tables:
            migrations = [f"{a}.{n}" for a, n in conn.execute("SELECT app, name FROM django_migrations ORDER BY id")]
        return {"tables": _table_stats(cursor_for, tables, self._quote, checksums), "migrations": migrations}

    def dump(self, write: Write, *, workdir: Path, compress: bool, checksums: bool, progress=None) -> dict:
        pg_dump, _ = self._tool("pg_dump")
        conn = self._connect(autocommit=False)
        try:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            args = [pg_dump, "-Fc", "-Z", "6" if compress else "0", "--no-owner", "--no-privileges",
                    f"--snapshot={snapshot}", *self._conn_args()]
            with ThreadPoolExecutor(1) as pool:
                stats = pool.submit(self._stats, conn, checksums)
                _stream_process(args, write, env=self._env(), stderr_path=workdir / f"pg_dump-{uuid.uuid4().hex}.err",
                                progress=progress)
                result = stats.result()
            conn.rollback()
        finally:
            conn.close()
        return result

    def restore(self, chunks: Iterable[bytes], *, workdir: Path, clean: bool = True) -> None:
        pg_restore, _ = self._tool("pg_restore")
        fd, tmp = tempfile.mkstemp(dir=workdir, suffix=".pgdump")
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
            args = [pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"]
            if clean:
                args += ["--clean", "--if-exists"]
            args += [*self._conn_args(), tmp]
            _run(args, env=self._env(), stderr_path=workdir / f"pg_restore-{uuid.uuid4().hex}.err")
        finally:
            os.unlink(tmp)

    def inspect(self, *, checksums: bool) -> dict:
        conn = self._connect(autocommit=False)
        try:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return self._stats(conn, checksums)
        finally:
            conn.rollback()
            conn.close()

    def create_scratch(self, suffix: str) -> Engine:
        name = f"{self.database[:40]}_vfy_{suffix}"
        with self._connect() as conn:
            conn.execute(f"CREATE DATABASE {self._quote(name)}")
        return self.with_database(name)

    def drop(self) -> None:
        with self._connect(dbname="postgres") as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self._quote(self.database)} WITH (FORCE)")


# --- MySQL / MariaDB --------------------------------------------------------------------------

class MySQLEngine(Engine):
    vendor = "mysql"
    package = "mariadb-client"

    def _connect(self, dbname: str | None = None):
        import MySQLdb

        s = self.settings
        params = {"user": s.get("USER") or "root", "passwd": s.get("PASSWORD") or "", "charset": "utf8mb4"}
        host = s.get("HOST") or "localhost"
        if host.startswith("/"):
            params["unix_socket"] = host
        else:
            params["host"] = host
        if s.get("PORT"):
            params["port"] = int(s["PORT"])
        if dbname != "":
            params["db"] = dbname or self.database
        conn = MySQLdb.connect(**params)
        conn.autocommit(True)
        return conn

    @contextmanager
    def _option_file(self, workdir: Path):
        """A 0600 [client] option file with the credentials, removed afterwards."""
        s = self.settings

        def q(value) -> str:
            return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = ["[client]", f"user={q(s.get('USER') or 'root')}"]
        if s.get("PASSWORD"):
            lines.append(f"password={q(s['PASSWORD'])}")
        host = s.get("HOST") or "localhost"
        lines.append(f"socket={q(host)}" if host.startswith("/") else f"host={q(host)}")
        if s.get("PORT"):
            lines.append(f"port={int(s['PORT'])}")
        fd, path = tempfile.mkstemp(dir=workdir, suffix=".cnf")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write("\n".join(lines) + "\n")
            yield path
        finally:
            os.unlink(path)

    def server_version(self) -> str:
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute("SELECT VERSION()")
            return cur.fetchone()[0]
        finally:
            conn.close()

    def _tool(self, names: tuple[str, ...]) -> tuple[str, str]:
        for name in names:
            path = shutil.which(name)
            if path:
                out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
                return path, out
        raise ToolMissing(f"{names[0]} is not installed: install the Debian package {self.package} "
                          f"(default-mysql-client for a MySQL server)")

    def check_tools(self) -> str:
        server = self.server_version()
        text = ""
        for names in (("mariadb-dump", "mysqldump"), ("mariadb", "mysql")):
            path, out = self._tool(names)
            if "MariaDB" in server:
                tool = re.search(r"Distrib (\d+\.\d+)", out) or re.search(r"from (\d+\.\d+)", out)
                server_v = re.match(r"(\d+\.\d+)", server).group(1)
                if tool and _version_tuple(tool.group(1)) < _version_tuple(server_v):
                    raise ToolMissing(f"{Path(path).name} {tool.group(1)} is older than the MariaDB server "
                                      f"{server_v}: install the Debian package {self.package} "
                                      f"from the MariaDB {server_v} repository")
                text = f"{Path(path).name} {tool.group(1) if tool else '?'}"
        return text

    @staticmethod
    def _quote(name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def _stats(self, conn, checksums: bool) -> dict:
        import MySQLdb.cursors

        def cursor_for(stream: bool = False):
            return conn.cursor(MySQLdb.cursors.SSCursor) if stream else conn.cursor()

        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
                    "AND table_type = 'BASE TABLE' ORDER BY 1")
        tables = [r[0] for r in cur.fetchall()]
        migrations = []
        if "django_migrations" in tables:
            cur.execute("SELECT app, name FROM django_migrations ORDER BY id")
            migrations = [f"{a}.{n}" for a, n in cur.fetchall()]
        cur.close()
        return {"tables": _table_stats(cursor_for, tables, self._quote, checksums), "migrations": migrations}

    def dump(self, write: Write, *, workdir: Path, compress: bool, checksums: bool, progress=None) -> dict:
        dump_tool, _ = self._tool(("mariadb-dump", "mysqldump"))
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            cur.close()
            with self._option_file(workdir) as cnf, ThreadPoolExecutor(1) as pool:
                stats = pool.submit(self._stats, conn, checksums)
                args = [dump_tool, f"--defaults-extra-file={cnf}", "--single-transaction", "--routines",
                        "--triggers", "--hex-blob", "--quick", "--no-tablespaces",
                        "--default-character-set=utf8mb4", self.database]
                _stream_process(args, write, env=dict(os.environ),
                                stderr_path=workdir / f"dump-{uuid.uuid4().hex}.err", progress=progress)
                result = stats.result()
            conn.rollback()
        finally:
            conn.close()
        return result

    def restore(self, chunks: Iterable[bytes], *, workdir: Path, clean: bool = True) -> None:
        client, _ = self._tool(("mariadb", "mysql"))
        with self._option_file(workdir) as cnf:
            args = [client, f"--defaults-extra-file={cnf}", "--default-character-set=utf8mb4", self.database]
            _feed_process(args, chunks, env=dict(os.environ), stderr_path=workdir / f"restore-{uuid.uuid4().hex}.err")

    def inspect(self, *, checksums: bool) -> dict:
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            cur.close()
            return self._stats(conn, checksums)
        finally:
            conn.rollback()
            conn.close()

    def create_scratch(self, suffix: str) -> Engine:
        name = f"{self.database[:40]}_vfy_{suffix}"
        conn = self._connect(dbname="")
        try:
            conn.cursor().execute(f"CREATE DATABASE {self._quote(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        finally:
            conn.close()
        return self.with_database(name)

    def drop(self) -> None:
        conn = self._connect(dbname="")
        try:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS {self._quote(self.database)}")
        finally:
            conn.close()


# --- SQLite -------------------------------------------------------------------------------------

class SQLiteEngine(Engine):
    vendor = "sqlite"

    def _in_memory(self) -> bool:
        name = self.database
        return name == ":memory:" or "mode=memory" in name or name == ""

    @contextmanager
    def _live(self):
        """A sqlite3 connection to the live database: the Django connection for an in-memory
        database (the only way to reach it), else a fresh one to the file."""
        if self._in_memory():
            if self.django_connection is None:
                raise EngineError("an in-memory SQLite database can only be reached through Django's connection")
            self.django_connection.ensure_connection()
            yield self.django_connection.connection
        else:
            conn = sqlite3.connect(self.database, timeout=30)
            try:
                yield conn
            finally:
                conn.close()

    def server_version(self) -> str:
        return sqlite3.sqlite_version

    @staticmethod
    def _quote(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def _stats(self, conn, checksums: bool) -> dict:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")]
        migrations = []
        if "django_migrations" in tables:
            migrations = [f"{a}.{n}" for a, n in conn.execute("SELECT app, name FROM django_migrations ORDER BY id")]

        def cursor_for(stream: bool = False):
            return conn.cursor()

        return {"tables": _table_stats(cursor_for, tables, self._quote, checksums), "migrations": migrations}

    def dump(self, write: Write, *, workdir: Path, compress: bool, checksums: bool, progress=None) -> dict:
        fd, tmp = tempfile.mkstemp(dir=workdir, suffix=".sqlite3")
        os.close(fd)
        try:
            if self._in_memory():
                # the database is in memory already: serialize() copies it even inside an
                # open transaction (the backup API would wait for the transaction forever)
                with self._live() as live:
                    image = live.serialize()
                with open(tmp, "wb") as fh:
                    fh.write(image)
                del image
            copy = sqlite3.connect(tmp)
            try:
                if not self._in_memory():
                    with self._live() as live:
                        live.backup(copy, pages=4096)
                result = self._stats(copy, checksums)
            finally:
                copy.close()
            done = 0
            with open(tmp, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    write(chunk)
                    done += len(chunk)
                    if progress:
                        progress("dump", done)
        finally:
            os.unlink(tmp)
        return result

    def restore(self, chunks: Iterable[bytes], *, workdir: Path, clean: bool = True) -> None:
        fd, tmp = tempfile.mkstemp(dir=workdir, suffix=".sqlite3")
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
            source = sqlite3.connect(tmp)
            try:
                if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise EngineError("the SQLite file in the backup is damaged")
                with self._live() as live:
                    if live.in_transaction:
                        raise EngineError("the SQLite database is inside a transaction: restore outside of one")
                    source.backup(live)  # one step: the destination changes atomically
            except sqlite3.DatabaseError as exc:
                raise EngineError(f"SQLite restore failed: {exc}") from None
            finally:
                source.close()
        finally:
            os.unlink(tmp)

    def inspect(self, *, checksums: bool) -> dict:
        with self._live() as live:
            return self._stats(live, checksums)

    def create_scratch(self, suffix: str) -> Engine:
        from .storage import get_storage

        path = get_storage().scratch_dir() / f"verify-{suffix}.sqlite3"
        return self.with_database(str(path))

    def drop(self) -> None:
        if not self._in_memory():
            for extra in ("", "-wal", "-shm", "-journal"):
                Path(self.database + extra).unlink(missing_ok=True)


def engine_for(connection) -> Engine:
    """The engine of a Django connection (usually connections["default"])."""
    vendor = connection.vendor
    if vendor == "postgresql":
        return PostgresEngine(connection.settings_dict, django_connection=connection)
    if vendor == "mysql":
        return MySQLEngine(connection.settings_dict, django_connection=connection)
    if vendor == "sqlite":
        return SQLiteEngine(connection.settings_dict, django_connection=connection)
    raise EngineError(f"backups do not support the {vendor} database")
