"""SQLite: the online backup API for a file database, `serialize()` for an in-memory one;
a restore replaces the live database in one atomic step."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from ..storage import get_storage
from .base import CHUNK, Engine, EngineError, Write, spooled, table_stats


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

    def _stats(self, conn, checksums: bool) -> dict:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")]
        migrations = []
        if "django_migrations" in tables:
            migrations = [f"{a}.{n}" for a, n in conn.execute("SELECT app, name FROM django_migrations ORDER BY id")]

        def cursor_for(stream: bool = False):
            return conn.cursor()

        return {"tables": table_stats(cursor_for, tables, self._quote, checksums), "migrations": migrations}

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
        with spooled(chunks, workdir=workdir, suffix=".sqlite3") as tmp:
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

    def inspect(self, *, checksums: bool) -> dict:
        with self._live() as live:
            return self._stats(live, checksums)

    def create_scratch(self, suffix: str) -> Engine:
        path = get_storage().scratch_dir() / f"verify-{suffix}.sqlite3"
        return self.with_database(str(path))

    def drop(self) -> None:
        if not self._in_memory():
            for extra in ("", "-wal", "-shm", "-journal"):
                Path(self.database + extra).unlink(missing_ok=True)
