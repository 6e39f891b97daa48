"""The status of the backups: overdue scheduled kinds and their once-a-day alert."""

import pytest

from backups import services
from tests.backups.factories import BackupFactory, days
from vpnbot.core.schedules import ensure_schedules

pytestmark = pytest.mark.django_db


def test_stale_backups_alert_once_a_day(monkeypatch, fake_telegram, direct_messages, django_capture_on_commit_callbacks):

    ensure_schedules()
    BackupFactory(kind="daily", age=days(2))
    BackupFactory(kind="weekly", age=days(1))
    BackupFactory(kind="monthly", age=days(3))
    with django_capture_on_commit_callbacks(execute=True):
        stale = services.backup_check_staleness()
        services.backup_check_staleness()
    assert [s["kind"] for s in stale] == ["daily"]
    texts = fake_telegram.sent_texts(9001)
    assert len(texts) == 1 and "daily backup is overdue" in texts[0]
