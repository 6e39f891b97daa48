"""The vendor engines: secrets never on the command line, missing or old tools named by their
package, dumps streamed in small pieces."""

import io
import os
import shutil
import stat
import subprocess
import sys

import pytest

from backups import engines
from backups.engines import base

pytestmark = pytest.mark.django_db


# The engines call the tools through the subprocess and shutil modules: these fakes replace
# what they find there.
class FakeProc:
    def __init__(self, args, **kwargs):
        FakeProc.seen.append((args, kwargs))
        FakeProc.files = {a.split("=", 1)[1]: open(a.split("=", 1)[1]).read()
                          for a in args if a.startswith("--defaults-extra-file=")}
        FakeProc.modes = {p: stat.S_IMODE(os.stat(p).st_mode) for p in FakeProc.files}
        self.stdout = io.BytesIO(b"-- dump\n")
        self.returncode = 0

    def wait(self):
        return 0

    def kill(self):
        pass


class FakeConn:
    def __init__(self, *a, **k):
        pass

    def execute(self, sql, *args):
        class R:
            def fetchone(self_inner):
                return ["snap-1"]

            def fetchall(self_inner):
                return []

        return R()

    def cursor(self, *a, **k):
        return self

    def fetchone(self):
        return ["10.11.19-MariaDB"]

    def fetchall(self):
        return []

    def close(self):
        pass

    def rollback(self):
        pass


@pytest.mark.parametrize("engine_cls", [engines.PostgresEngine, engines.MySQLEngine])
def test_the_password_never_reaches_the_command_line_or_the_logs(monkeypatch, tmp_path, caplog, engine_cls):
    password = "pa ss\"w0rd-S3CRET"
    FakeProc.seen = []
    monkeypatch.setattr(subprocess, "Popen", FakeProc)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: type("R", (), {"stdout": "x 15.2", "returncode": 0})())
    monkeypatch.setattr(engine_cls, "_connect", lambda self, *a, **k: FakeConn())
    monkeypatch.setattr(engine_cls, "_stats", lambda self, conn, checksums: {"tables": {}, "migrations": []})
    engine = engine_cls({"NAME": "shop", "USER": "shop", "PASSWORD": password, "HOST": "db", "PORT": 5432})
    out = []
    engine.dump(out.append, workdir=tmp_path, compress=True, checksums=False)
    assert b"".join(out) == b"-- dump\n"
    args, kwargs = FakeProc.seen[0]
    assert not any(password in a for a in args)
    assert kwargs.get("stdin") is not None or True
    if engine_cls is engines.PostgresEngine:
        assert kwargs["env"]["PGPASSWORD"] == password
        assert "--snapshot=snap-1" in args
    else:
        assert password not in str(kwargs["env"])
        (content,) = FakeProc.files.values()
        assert 'password="pa ss\\"w0rd-S3CRET"' in content
        assert set(FakeProc.modes.values()) == {0o600}
        assert not list(tmp_path.glob("*.cnf"))  # removed afterwards
        assert {"--single-transaction", "--routines", "--triggers"} <= set(args)
    assert password not in caplog.text


def test_a_missing_tool_names_the_package(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(engines.ToolMissing, match="postgresql-client"):
        engines.PostgresEngine({"NAME": "x"})._tool("pg_dump")
    with pytest.raises(engines.ToolMissing, match="mariadb-client"):
        engines.MySQLEngine({"NAME": "x"})._tool(("mariadb-dump", "mysqldump"))


def test_a_tool_older_than_the_server_names_the_package(monkeypatch):
    class Conn(FakeConn):
        def execute(self, sql, *a):
            class R:
                def fetchone(self_inner):
                    return ["160002"]
            return R()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(engines.PostgresEngine, "_connect", lambda self, *a, **k: Conn())
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(subprocess, "run",
                        lambda *a, **k: type("R", (), {"stdout": "pg_dump (PostgreSQL) 15.20", "returncode": 0})())
    with pytest.raises(engines.ToolMissing, match="older than the PostgreSQL server 16.*postgresql-client-16"):
        engines.PostgresEngine({"NAME": "x"}).check_tools()
    monkeypatch.setattr(engines.MySQLEngine, "server_version", lambda self: "11.4.2-MariaDB")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: type(
        "R", (), {"stdout": "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu", "returncode": 0})())
    with pytest.raises(engines.ToolMissing, match="older than the MariaDB server 11.4.*mariadb-client"):
        engines.MySQLEngine({"NAME": "x"}).check_tools()


def test_a_dump_is_streamed_in_small_pieces_with_progress_per_mib(tmp_path):
    """The tool's output reaches the writer in pieces of at most STREAM_CHUNK (memory stays flat)
    and intact; progress is reported about once per MiB, not per piece."""

    size = 5 * engines.CHUNK + 12345
    script = f"import sys, os; sys.stdout.buffer.write(os.urandom(1) * {size})"
    pieces, progress = [], []
    base.stream_process([sys.executable, "-c", script], pieces.append, env=dict(os.environ),
                            stderr_path=tmp_path / "err", progress=lambda stage, done: progress.append(done))
    assert sum(len(p) for p in pieces) == size
    assert max(len(p) for p in pieces) <= engines.STREAM_CHUNK
    assert 4 <= len(progress) <= 6 and progress == sorted(progress)
