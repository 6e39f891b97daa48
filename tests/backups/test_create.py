"""Making a backup: the file and its sidecar, scheduled runs once per period, a failure
recorded and reported, the copy to Telegram in parts."""

import json

import pytest
from django.db import connection

from backups import container, engines, services
from backups.models import Backup
from tests.backups.conftest import backup_path

pytestmark = pytest.mark.django_db


def test_files_are_private_and_have_a_sidecar(made):
    path = backup_path(made)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    sidecar = json.loads(path.with_name(path.name + ".json").read_text())
    assert sidecar["sha256"] == made.checksum_sha256 == container.file_sha256(path)
    assert sidecar["vendor"] == connection.vendor
    assert "rows" in sidecar["tables"]["shop_customer"]  # committed rows only (this test is in a transaction)
    assert sidecar["size"] == made.size_bytes == path.stat().st_size


def test_a_scheduled_backup_runs_once_per_period():
    first = services.backup_scheduled(kind="daily")
    assert first.kind == "daily" and first.schedule_key.startswith("daily:")
    assert services.backup_scheduled(kind="daily") is None
    assert Backup.objects.count() == 1
    assert services.backup_scheduled(kind="weekly").schedule_key.startswith("weekly:")


def test_a_failed_scheduled_backup_may_be_retried(monkeypatch):
    def boom(self, *args, **kwargs):
        raise engines.EngineError("disk on fire")

    with monkeypatch.context() as m:
        m.setattr(engines.Engine, "check_tools", boom)
        m.setattr(engines.SQLiteEngine, "check_tools", boom, raising=False)
        m.setattr(engines.PostgresEngine, "check_tools", boom)
        m.setattr(engines.MySQLEngine, "check_tools", boom)
        with pytest.raises(services.BackupError, match="disk on fire"):
            services.backup_scheduled(kind="daily")
    failed = Backup.objects.get()
    assert failed.status == "failed" and failed.schedule_key is None and "disk on fire" in failed.error
    assert services.backup_scheduled(kind="daily").status == "succeeded"


def test_a_failure_alerts_the_admins_directly_without_notifications(monkeypatch, fake_telegram, direct_messages,
                                                                     django_capture_on_commit_callbacks):
    monkeypatch.setattr(engines.MySQLEngine, "check_tools", lambda self: (_ for _ in ()).throw(
        engines.ToolMissing("mariadb-dump is not installed: install the Debian package mariadb-client")))
    monkeypatch.setattr(engines.PostgresEngine, "check_tools", engines.MySQLEngine.check_tools)
    monkeypatch.setattr(engines.SQLiteEngine, "check_tools", engines.MySQLEngine.check_tools, raising=False)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.BackupError):
        services.backup_create(kind="manual")
    for admin in (9001, 9002):
        assert "failed" in fake_telegram.last_text(admin)
        assert "mariadb-client" in fake_telegram.last_text(admin)


def test_the_copy_to_telegram_is_split_below_the_limit(settings, fake_telegram):
    first = services.backup_create(kind="manual")
    settings.BACKUP_CHAT_ID = "777123"  # a private chat: no group pacing
    settings.BACKUP_TELEGRAM_PART_BYTES = part = first.size_bytes // 3 + 1
    backup = services.backup_create(kind="manual")
    expected_parts = -(-backup.size_bytes // part)
    docs = fake_telegram.calls_to("sendDocument", 777123)
    assert backup.telegram_parts == expected_parts >= 2
    assert len(docs) == expected_parts + 1  # the parts and the metadata sidecar
    assert backup.checksum_sha256 in docs[0].text


def test_part_size_follows_the_bot_api_server(settings):
    settings.BACKUP_TELEGRAM_PART_BYTES = 0
    settings.TELEGRAM_API_URL = "https://api.telegram.org"
    assert services.telegram_part_size() < 50 * 1024 * 1024
    settings.TELEGRAM_API_URL = "http://127.0.0.1:8081"
    assert 50 * 1024 * 1024 < services.telegram_part_size() < 2000 * 1024 * 1024
