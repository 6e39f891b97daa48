"""Vendor engines: dump, restore and inspect PostgreSQL, MySQL/MariaDB and SQLite.

`engine_for(connection)` picks the engine of a Django connection; the shared interface and
the tool runners are in `base`, one module per vendor beside it. Everything streams.
"""

from __future__ import annotations

from .base import CHUNK, STREAM_CHUNK, Engine, EngineError, ServerEngine, ToolMissing, Write
from .mysql import MySQLEngine
from .postgres import PostgresEngine
from .sqlite import SQLiteEngine

__all__ = [
    "CHUNK", "STREAM_CHUNK", "Engine", "EngineError", "MySQLEngine", "PostgresEngine", "SQLiteEngine",
    "ServerEngine", "ToolMissing", "Write", "engine_for",
]

ENGINES: dict[str, type[Engine]] = {
    "postgresql": PostgresEngine,
    "mysql": MySQLEngine,
    "sqlite": SQLiteEngine,
}


def engine_for(connection) -> Engine:
    """The engine of a Django connection (usually connections["default"])."""
    cls = ENGINES.get(connection.vendor)
    if cls is None:
        raise EngineError(f"backups do not support the {connection.vendor} database")
    return cls(connection.settings_dict, django_connection=connection)
