"""Operations queued from the admin site (nobody waits in a chat): a busy lock makes them try
again later, and what finally cannot run is noted on the backup and sent to the admins."""

import pytest
from celery.exceptions import Retry
from django.urls import reverse

from backups import services, tasks
from backups.models import Backup
from tests.backups.factories import BackupFactory

pytestmark = pytest.mark.django_db

ADMINS = (9001, 9002)


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.run_for_chat, "delay", lambda *args: calls.append(args))
    return calls


def _click(client, action, backup):
    url = reverse("admin:backups_backup_changelist")
    return client.post(url, {"action": action, "_selected_action": [backup.pk], "confirm": "yes"}, follow=True)


def test_an_admin_verification_queued_while_a_backup_runs_retries_later_then_runs(staff_client, queued):
    backup = services.backup_create(kind="manual")
    page = _click(staff_client, "verify_action", backup)
    assert b"waits for it" in page.content
    assert len(queued) == 1
    with services.backup_lock(holder="daily backup for schedule"):
        with pytest.raises(Retry) as retried:
            tasks.run_for_chat.apply(args=queued[0], throw=True)
    assert retried.value.when == tasks.BUSY_RETRY_SECONDS
    backup.refresh_from_db()
    assert backup.status == "succeeded" and backup.notes == ""
    tasks.run_for_chat.apply(args=queued[0], retries=1, throw=True)  # the retry, once the lock is free
    backup.refresh_from_db()
    assert backup.status == "verified" and backup.notes == ""


def test_an_admin_restore_that_never_gets_the_lock_is_noted_and_the_admins_are_told(
        staff_client, queued, fake_telegram, direct_messages, django_capture_on_commit_callbacks):
    backup = BackupFactory()
    _click(staff_client, "restore_action", backup)
    with services.backup_lock(holder="daily backup for schedule"), \
            django_capture_on_commit_callbacks(execute=True):
        for attempt in range(tasks.BUSY_MAX_RETRIES):  # as the worker would, BUSY_RETRY_SECONDS apart
            with pytest.raises(Retry):
                tasks.run_for_chat.apply(args=queued[0], retries=attempt, throw=True)
        assert Backup.objects.get(pk=backup.pk).notes == ""
        assert not fake_telegram.calls_to("sendMessage", 9001)
        result = tasks.run_for_chat.apply(args=queued[0], retries=tasks.BUSY_MAX_RETRIES, throw=True)
    assert result.successful()
    assert not Backup.objects.filter(kind="safety").exists()
    backup.refresh_from_db()
    assert backup.status == "succeeded"
    assert f"The restore of backup #{backup.pk} (asked for by admin:boss) waited" in backup.notes
    assert "daily backup for schedule" in backup.notes and "nothing was changed" in backup.notes
    for admin in ADMINS:
        text = fake_telegram.last_text(admin)
        assert f"The restore of backup #{backup.pk}" in text and "did not run" in text
    page = staff_client.get(reverse("admin:backups_backup_changelist"))
    assert f"The restore of backup #{backup.pk}".encode() in page.content


def test_an_admin_restore_that_fails_is_noted_and_the_admins_are_told(
        staff_client, queued, fake_telegram, direct_messages, django_capture_on_commit_callbacks):
    backup = BackupFactory()  # its file does not match its (empty) checksum
    _click(staff_client, "restore_action", backup)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_for_chat.apply(args=queued[0], throw=True)
    backup.refresh_from_db()
    assert "failed" in backup.notes and "SHA-256" in backup.notes
    assert "SHA-256" in fake_telegram.last_text(9001)
    assert not Backup.objects.filter(kind="safety").exists()


def test_notes_are_kept_newest_first():
    backup = BackupFactory()
    services.backup_note(backup_id=backup.pk, text="first")
    services.backup_note(backup_id=backup.pk, text="second")
    backup.refresh_from_db()
    assert backup.notes.splitlines()[0].endswith("second") and backup.notes.splitlines()[1].endswith("first")


def test_a_bot_request_is_still_answered_at_once_when_busy(bot, fake_telegram, tg_admin, monkeypatch):
    """In a chat the person sees the refusal straight away; nothing waits or is noted."""
    backup = BackupFactory()
    monkeypatch.setattr(services, "lock_holder", lambda: None)  # the check before queueing missed it
    with services.backup_lock(holder="daily backup for schedule"):
        bot.send(tg_admin, f"/restore_backup {backup.pk}")
        bot.press_button(tg_admin, "Restore")
    assert "Another backup operation is running" in fake_telegram.last_text(tg_admin.id)
    backup.refresh_from_db()
    assert backup.notes == ""


def test_the_note_is_written_in_the_shops_language(settings, direct_messages, fake_telegram):
    settings.LANGUAGE_CODE = "fa"
    backup = BackupFactory()
    with services.backup_lock(holder="daily backup for schedule"):
        tasks.run_for_chat.apply(args=("verify", None, None, "admin:boss", "", backup.pk),
                                 retries=tasks.BUSY_MAX_RETRIES, throw=True)
    backup.refresh_from_db()
    assert f"بررسی پشتیبان #{backup.pk}" in backup.notes and "اجرا نشد" in backup.notes
