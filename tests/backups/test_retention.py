"""Retention: what the plan deletes (grandfather-father-son, the age limit, never the newest
verified backup) and that cleanup deletes only what was confirmed."""

import os

import pytest

from backups import services
from backups.models import Backup
from tests.backups.factories import BackupFactory, days

pytestmark = pytest.mark.django_db


def test_retention_on_a_synthetic_calendar(settings):
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY, settings.BACKUP_KEEP_MONTHLY = 7, 4, 12
    settings.BACKUP_RETENTION_DAYS = 30
    daily = [BackupFactory(kind="daily", age=days(i)) for i in range(10)]          # newest first
    weekly = [BackupFactory(kind="weekly", age=days(7 * i)) for i in range(6)]
    monthly = [BackupFactory(kind="monthly", age=days(30 * i)) for i in range(14)]
    manual_old, manual_new = BackupFactory(age=days(31)), BackupFactory(age=days(29))
    safety_old = BackupFactory(kind="safety", age=days(45))
    failed_old = BackupFactory(kind="daily", status="failed", file_name="", age=days(40))
    failed_new = BackupFactory(kind="daily", status="failed", file_name="", age=days(3))
    running = BackupFactory(kind="manual", status="running", file_name="", age=days(90))

    plan = {b.pk for b in services.backup_cleanup_plan()}

    expected = {b.pk for b in daily[7:] + weekly[4:] + monthly[12:]} | {manual_old.pk, safety_old.pk, failed_old.pk}
    assert plan == expected
    assert not plan & {manual_new.pk, failed_new.pk, running.pk}

    deleted = services.backup_cleanup()
    assert set(deleted) == expected
    assert not Backup.objects.filter(pk__in=expected).exists()
    storage_files = set(os.listdir(settings.BACKUP_DIR))
    assert daily[9].file_name not in storage_files and daily[0].file_name in storage_files


def test_cleanup_never_deletes_the_newest_verified_backup(settings):
    settings.BACKUP_KEEP_DAILY = 1
    verified = BackupFactory(kind="daily", status="verified", age=days(5))
    BackupFactory(kind="daily", age=days(1))
    older_verified = BackupFactory(kind="daily", status="verified", age=days(9))
    plan = {b.pk for b in services.backup_cleanup_plan()}
    assert verified.pk not in plan
    assert older_verified.pk in plan


def test_cleanup_only_deletes_what_was_confirmed(settings):
    settings.BACKUP_RETENTION_DAYS = 30
    a, b = BackupFactory(age=days(40)), BackupFactory(age=days(50))
    assert services.backup_cleanup(only_ids={a.pk}) == [a.pk]
    assert Backup.objects.filter(pk=b.pk).exists()
