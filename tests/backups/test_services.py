import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from backups import engines, services
from backups.models import Backup, BackupLock
from tests.backups.factories import BackupFactory, days
from tests.conftest import run_threads

pytestmark = pytest.mark.django_db


# --- retention -------------------------------------------------------------------------------

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


# --- the lock ------------------------------------------------------------------------------------

def test_a_held_lock_makes_a_second_request_busy_and_an_expired_one_is_taken_over():
    with services.backup_lock(holder="first"):
        with pytest.raises(services.BackupBusy, match="first"):
            services.backup_create(kind="manual")
    assert not BackupLock.objects.exists()
    BackupLock.objects.create(name="backups", token="crashed", holder="dead worker",
                              acquired_at=timezone.now() - timedelta(days=1),
                              expires_at=timezone.now() - timedelta(hours=1))
    backup = services.backup_create(kind="manual")
    assert backup.status == Backup.Status.SUCCEEDED
    assert not BackupLock.objects.exists()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_one_runs():
    def create(i):
        return services.backup_create(kind="manual", requested_by=f"thread {i}")

    results = run_threads(create, 2)
    made = [r for r in results if isinstance(r, Backup)]
    busy = [r for r in results if isinstance(r, services.BackupBusy)]
    assert len(made) == 1 and len(busy) == 1, results
    assert Backup.objects.count() == 1


# --- scheduled runs --------------------------------------------------------------------------------

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


def test_the_beat_entries_exist():
    from django_celery_beat.models import PeriodicTask

    from vpnbot.core.schedules import ensure_schedules

    ensure_schedules()
    names = set(PeriodicTask.objects.filter(name__startswith="backups:").values_list("name", flat=True))
    assert {"backups: daily backup", "backups: weekly backup", "backups: monthly backup",
            "backups: weekly verification"} <= names


# --- alerts ------------------------------------------------------------------------------------------

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


def test_alerts_go_through_the_notifications_outbox_when_installed(fake_telegram):
    from notifications.models import Notification

    services.backup_alert_admins(kind="backup_stale", text="late", dedup_key="k1")
    services.backup_alert_admins(kind="backup_stale", text="late", dedup_key="k1")
    alerts = Notification.objects.filter(type="admin_alert", context__kind="backup_stale")
    assert sorted(alerts.values_list("chat_id", flat=True)) == [9001, 9002]
    assert set(alerts.values_list("text", flat=True)) == {"late"}
    assert fake_telegram.calls == []  # queued in the caller's transaction, sent after commit


def test_stale_backups_alert_once_a_day(monkeypatch, fake_telegram, direct_messages, django_capture_on_commit_callbacks):
    from vpnbot.core.schedules import ensure_schedules

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


# --- the copy to Telegram --------------------------------------------------------------------------------

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


# --- management commands ------------------------------------------------------------------------------------

def test_management_commands(capsys, settings):
    settings.BACKUP_RETENTION_DAYS = 30
    call_command("backup_create")
    backup = Backup.objects.get()
    assert f"backup #{backup.pk}" in capsys.readouterr().out
    call_command("backup_list")
    assert backup.file_name in capsys.readouterr().out
    call_command("backup_verify", str(backup.pk))
    assert "verified" in capsys.readouterr().out
    call_command("backup_status")
    assert "Backup status" in capsys.readouterr().out
    BackupFactory(age=days(40))
    call_command("backup_cleanup")
    assert "1 backups would be deleted" in capsys.readouterr().out
    assert Backup.objects.count() == 2
    call_command("backup_cleanup", "--yes")
    assert Backup.objects.count() == 1
    with pytest.raises(CommandError, match="number"):
        call_command("backup_restore", "../../etc/passwd", "--yes")
    with pytest.raises(CommandError, match="no backup"):
        call_command("backup_restore", "424242", "--yes")


def test_backup_commands_run_the_model_checks_but_not_unrelated_ones(capsys):
    """A failing URL/admin check must not stop a backup (the full run would also import the
    URLconf, the admin and the API schema machinery); a model error still stops it."""
    from django.core import checks
    from django.core.management.base import SystemCheckError

    def broken_url_check(**kwargs):
        return [checks.Error("an unrelated URL problem", id="test.E001")]

    def broken_model_check(**kwargs):
        return [checks.Error("a model problem", id="test.E002")]

    registry = checks.registry.registry
    checks.register(broken_url_check, checks.Tags.urls)
    try:
        call_command("backup_status", skip_checks=False)
        assert "Backup status" in capsys.readouterr().out
        checks.register(broken_model_check, checks.Tags.models)
        with pytest.raises(SystemCheckError, match="a model problem"):
            call_command("backup_status", skip_checks=False)
    finally:
        registry.registered_checks.discard(broken_url_check)
        registry.registered_checks.discard(broken_model_check)


# --- verification jobs -----------------------------------------------------------------------------------

def test_the_weekly_job_verifies_the_newest_backup():
    from backups import tasks

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


def test_a_scheduled_backup_retries_while_another_operation_runs(monkeypatch):
    from celery.exceptions import Retry

    from backups import tasks

    def busy(**kwargs):
        raise services.BackupBusy("busy")

    monkeypatch.setattr(services, "backup_scheduled", busy)
    with pytest.raises(Retry):
        tasks.scheduled_backup.apply(kwargs={"kind": "daily"}, throw=True)
