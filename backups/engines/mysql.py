"""MySQL / MariaDB: `mariadb-dump --single-transaction` (consistent for InnoDB tables only),
restored through the `mariadb` client; the credentials travel in a 0600 option file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from .base import Engine, ServerEngine, ToolMissing, Write, feed_process, stderr_file, table_stats, version_tuple


class MySQLEngine(ServerEngine):
    vendor = "mysql"
    package = "mariadb-client"

    def _connect(self, dbname: str | None = None):
        # only the driver of the database in use is loaded (a process never needs both)
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
    def _snapshot(self):
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            cur.close()
            yield conn
            conn.rollback()
        finally:
            conn.close()

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
                if tool and version_tuple(tool.group(1)) < version_tuple(server_v):
                    raise ToolMissing(f"{Path(path).name} {tool.group(1)} is older than the MariaDB server "
                                      f"{server_v}: install the Debian package {self.package} "
                                      f"from the MariaDB {server_v} repository")
                text = f"{Path(path).name} {tool.group(1) if tool else '?'}"
        return text

    @staticmethod
    def _quote(name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def _stats(self, conn, checksums: bool) -> dict:
        # loaded with the driver, in _connect (see there)
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
        return {"tables": table_stats(cursor_for, tables, self._quote, checksums), "migrations": migrations}

    def dump(self, write: Write, *, workdir: Path, compress: bool, checksums: bool, progress=None) -> dict:
        dump_tool, _ = self._tool(("mariadb-dump", "mysqldump"))
        with self._snapshot() as conn, self._option_file(workdir) as cnf:
            args = [dump_tool, f"--defaults-extra-file={cnf}", "--single-transaction", "--routines",
                    "--triggers", "--hex-blob", "--quick", "--no-tablespaces",
                    "--default-character-set=utf8mb4", self.database]
            return self._dump_beside_stats(conn, args, write, env=dict(os.environ),
                                           stderr_path=stderr_file(workdir, "dump"), checksums=checksums,
                                           progress=progress)

    def restore(self, chunks: Iterable[bytes], *, workdir: Path, clean: bool = True) -> None:
        client, _ = self._tool(("mariadb", "mysql"))
        with self._option_file(workdir) as cnf:
            args = [client, f"--defaults-extra-file={cnf}", "--default-character-set=utf8mb4", self.database]
            feed_process(args, chunks, env=dict(os.environ), stderr_path=stderr_file(workdir, "restore"))

    def create_scratch(self, suffix: str) -> Engine:
        name = self._scratch_name(suffix)
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
