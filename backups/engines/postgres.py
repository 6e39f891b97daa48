"""PostgreSQL: `pg_dump -Fc` inside an exported snapshot (the row counts are of exactly the
dumped data), `pg_restore --single-transaction`; the password travels in PGPASSWORD."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from .base import Engine, ServerEngine, ToolMissing, Write, run_process, spooled, stderr_file, table_stats


class PostgresEngine(ServerEngine):
    vendor = "postgresql"
    self_compressing = True
    package = "postgresql-client"

    def _connect(self, dbname: str | None = None, autocommit: bool = True):
        # only the driver of the database in use is loaded (a process never needs both)
        import psycopg

        s = self.settings
        params = {"dbname": dbname or self.database, "user": s.get("USER") or None,
                  "password": s.get("PASSWORD") or None, "host": s.get("HOST") or None,
                  "port": str(s.get("PORT")) if s.get("PORT") else None}
        for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            if key in (s.get("OPTIONS") or {}):
                params[key] = s["OPTIONS"][key]
        return psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=autocommit)

    @contextmanager
    def _snapshot(self):
        conn = self._connect(autocommit=False)
        try:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn
            conn.rollback()
        finally:
            conn.close()

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

    def _stats(self, conn, checksums: bool) -> dict:
        counter = iter(range(1, 10**9))

        def cursor_for(stream: bool = False):
            return conn.cursor(name=f"bk{next(counter)}") if stream else conn.cursor()

        tables = self._tables(conn)
        migrations = []
        if "django_migrations" in tables:
            migrations = [f"{a}.{n}" for a, n in conn.execute("SELECT app, name FROM django_migrations ORDER BY id")]
        return {"tables": table_stats(cursor_for, tables, self._quote, checksums), "migrations": migrations}

    def dump(self, write: Write, *, workdir: Path, compress: bool, checksums: bool, progress=None) -> dict:
        pg_dump, _ = self._tool("pg_dump")
        with self._snapshot() as conn:
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            args = [pg_dump, "-Fc", "-Z", "6" if compress else "0", "--no-owner", "--no-privileges",
                    f"--snapshot={snapshot}", *self._conn_args()]
            return self._dump_beside_stats(conn, args, write, env=self._env(),
                                           stderr_path=stderr_file(workdir, "pg_dump"), checksums=checksums,
                                           progress=progress)

    def restore(self, chunks: Iterable[bytes], *, workdir: Path, clean: bool = True) -> None:
        pg_restore, _ = self._tool("pg_restore")
        with spooled(chunks, workdir=workdir, suffix=".pgdump") as tmp:
            args = [pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"]
            if clean:
                args += ["--clean", "--if-exists"]
            args += [*self._conn_args(), tmp]
            run_process(args, env=self._env(), stderr_path=stderr_file(workdir, "pg_restore"))

    def create_scratch(self, suffix: str) -> Engine:
        name = self._scratch_name(suffix)
        with self._connect() as conn:
            conn.execute(f"CREATE DATABASE {self._quote(name)}")
        return self.with_database(name)

    def drop(self) -> None:
        with self._connect(dbname="postgres") as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self._quote(self.database)} WITH (FORCE)")
