import pytest
from django.db import connection
from django.utils import translation

from backups.engines import engine_for

BACKUP_TABLES = ("backups_backup", "backups_backuplock")


@pytest.fixture(autouse=True)
def backup_settings(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_CHAT_ID = ""
    settings.BACKUP_ENCRYPTION_KEY = ""
    settings.BACKUP_COMPRESSION = True
    settings.BACKUP_COMPRESSION_ALGORITHM = "zstd"
    settings.BACKUP_TELEGRAM_PART_BYTES = 0
    settings.LANGUAGE_CODE = "en"  # messages asserted below are the English msgids
    with translation.override("en"):
        yield settings


def snapshot() -> dict:
    """Per-table row counts and checksums of the live database, except the backups' own
    catalogue (kept as it was across a restore, by design)."""
    tables = engine_for(connection).inspect(checksums=True)["tables"]
    return {name: stats for name, stats in tables.items() if name not in BACKUP_TABLES}
