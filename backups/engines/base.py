"""What every engine shares: the interface, per-table statistics, and running the dump and
restore tools with argument lists (never a shell), streaming their output in small pieces.

External programs run with argument lists; the password travels in the environment
(PGPASSWORD) or a temporary 0600 option file (MariaDB), never on the command line.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

CHUNK = 1024 * 1024
# Read from a dump tool's stdout in pieces this big: a pipe holds 64 KiB, so a bigger read only
# waits longer, and while the next piece is read the previous one is still alive (two at once).
STREAM_CHUNK = 256 * 1024
Write = Callable[[bytes], None]


class EngineError(Exception):
    """A dump or restore failed; the message is safe to show to an admin."""


class ToolMissing(EngineError):
    """The dump or restore tool is not installed, or is older than the server."""


# --- per-table statistics -----------------------------------------------------------------

def _norm(value):
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def table_stats(cursor_for: Callable[..., object], tables: list[str], quote: Callable[[str], str],
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


# --- running the tools ----------------------------------------------------------------------

def _tail(path: Path, limit: int = 1500) -> str:
    try:
        data = path.read_bytes()[-limit:]
    except OSError:
        return ""
    return data.decode(errors="replace").strip()


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def stderr_file(workdir: Path, tool: str) -> Path:
    """Where a tool's error output goes (its tail is quoted when the tool fails)."""
    return workdir / f"{tool}-{uuid.uuid4().hex}.err"


def _check_exit(args: list[str], code: int, stderr_path: Path) -> None:
    if code != 0:
        raise EngineError(f"{Path(args[0]).name} failed (exit {code}): {_tail(stderr_path)}")


def stream_process(args: list[str], write: Write, *, env: dict, stderr_path: Path, progress=None) -> None:
    """Run a dump tool and hand its stdout to write, STREAM_CHUNK at a time; progress("dump",
    bytes so far) about once per MiB."""
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
    _check_exit(args, code, stderr_path)


def feed_process(args: list[str], chunks: Iterable[bytes], *, env: dict, stderr_path: Path) -> None:
    """Run a restore tool with the chunks on its stdin."""
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
    _check_exit(args, code, stderr_path)


@contextmanager
def spooled(chunks: Iterable[bytes], *, workdir: Path, suffix: str) -> Iterator[str]:
    """The chunks written to a private temporary file in workdir (for a tool that reads a
    file, not a pipe); the file is removed afterwards."""
    fd, tmp = tempfile.mkstemp(dir=workdir, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        yield tmp
    finally:
        os.unlink(tmp)


def run_process(args: list[str], *, env: dict, stderr_path: Path) -> None:
    with open(stderr_path, "wb") as err:
        code = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env).returncode
    _check_exit(args, code, stderr_path)


# --- the interface ----------------------------------------------------------------------------

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

    @staticmethod
    def _quote(name: str) -> str:
        """An identifier quoted the SQL standard's way (MySQL overrides it)."""
        return '"' + name.replace('"', '""') + '"'

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


class ServerEngine(Engine):
    """A database server reached through a driver, dumped by an external tool (PostgreSQL,
    MySQL/MariaDB): the row counts are read in the same snapshot the tool dumps."""

    package = ""  # the Debian package with the tools, named in errors

    def _snapshot(self) -> AbstractContextManager:
        """A connection inside a read-only repeatable-read transaction, rolled back and
        closed afterwards."""
        raise NotImplementedError

    def _stats(self, conn, checksums: bool) -> dict:
        raise NotImplementedError

    def _dump_beside_stats(self, conn, args: list[str], write: Write, *, env: dict, stderr_path: Path,
                           checksums: bool, progress=None) -> dict:
        """Stream the tool's dump to write while another thread reads the per-table statistics
        through conn (the snapshot the tool dumps); returns the statistics."""
        with ThreadPoolExecutor(1) as pool:
            stats = pool.submit(self._stats, conn, checksums)
            stream_process(args, write, env=env, stderr_path=stderr_path, progress=progress)
            return stats.result()

    def inspect(self, *, checksums: bool) -> dict:
        with self._snapshot() as conn:
            return self._stats(conn, checksums)

    def _scratch_name(self, suffix: str) -> str:
        return f"{self.database[:40]}_vfy_{suffix}"
