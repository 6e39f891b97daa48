"""Verification: a backup restored into a scratch database and compared, the weekly job, the
test backup, and the alert when the tables differ."""

import pytest

from backups import services, tasks
from backups.models import Backup
from tests.backups.conftest import seed_shop

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_test_backup_verifies_in_a_scratch_database():
    seed_shop()
    backup, report = services.backup_test(requested_by="test")
    assert report["ok"], report
    assert report["checksums"] is True
    assert report["rows"] >= 6
    backup.refresh_from_db()
    assert backup.status == Backup.Status.VERIFIED and backup.verified_at
    assert all("checksum" in t for t in backup.metadata["tables"].values())


def test_the_weekly_job_verifies_the_newest_backup():

    older = services.backup_create(kind="daily")
    newest = services.backup_create(kind="manual")
    tasks.verify_latest_backup()
    older.refresh_from_db()
    newest.refresh_from_db()
    assert newest.status == "verified" and newest.verification["ok"]
    assert older.status == "succeeded"


def test_a_verification_that_finds_differences_alerts_and_does_not_mark_verified(monkeypatch, fake_telegram, direct_messages,
                                                                                  django_capture_on_commit_callbacks):
    backup = services.backup_create(kind="manual")
    backup.metadata["tables"]["django_migrations"]["rows"] += 5
    backup.save()
    with django_capture_on_commit_callbacks(execute=True):
        report = services.backup_verify(backup_id=backup.pk)
    assert not report["ok"]
    assert any("django_migrations" in m for m in report["mismatches"])
    backup.refresh_from_db()
    assert backup.status == "succeeded" and backup.verified_at is None
    assert "found differences" in fake_telegram.last_text(9001)
