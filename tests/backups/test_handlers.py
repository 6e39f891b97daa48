"""The backup commands and buttons end to end, through the webhook and the fake Telegram server."""

import time

import pytest
import time_machine

from backups import services
from backups.models import Backup, BackupLock
from backups.services import lock, verify
from tests.backups.conftest import snapshot
from tests.backups.factories import BackupFactory, days
from tests.conftest import TelegramUser
from tests.factories import CustomerFactory
from vpnbot.shop.models import Customer
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db

COMMANDS = ["/backup_status", "/create_backup", "/list_backups", "/restore_backup 1", "/cleanup_backups",
            "/backup_help", "/test_backup"]


@pytest.mark.parametrize("command", COMMANDS)
def test_non_admins_are_refused_and_nothing_runs(bot, fake_telegram, command):
    user = TelegramUser(5550123, language_code="en")
    BackupFactory(age=days(100))
    bot.send(user, command)
    assert "for the shop's admins" in fake_telegram.last_text(user.id)
    assert Backup.objects.count() == 1
    assert services.lock_holder() is None


def test_a_non_admin_cannot_press_a_confirmation_button(bot, fake_telegram):
    user = TelegramUser(5550124, language_code="en")
    backup = BackupFactory()
    bot.press(user, f"bk:rs:{backup.pk}:{int(time.time())}:0123456789abcdef")
    assert fake_telegram.calls_to("answerCallbackQuery")
    assert not Backup.objects.filter(kind="safety").exists()


def test_backup_help_lists_every_command(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/backup_help")
    text = fake_telegram.last_text(tg_admin.id)
    for command in COMMANDS:
        assert command.split()[0] in text


def test_create_backup_edits_its_progress_message_and_makes_a_backup(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/create_backup")
    backup = Backup.objects.get()
    assert backup.status == Backup.Status.SUCCEEDED, backup.error
    assert backup.requested_by.startswith(f"telegram:{tg_admin.id}")
    first = fake_telegram.calls_to("sendMessage", tg_admin.id)[0]
    assert "Starting the backup" in first.text
    edits = fake_telegram.calls_to("editMessageText", tg_admin.id)
    assert edits and f"Backup #{backup.pk} is ready" in edits[-1].text
    assert backup.checksum_sha256 in edits[-1].text
    assert TelegramUpdate.objects.get().status == "done"


def test_create_backup_while_one_runs_says_so(bot, fake_telegram, tg_admin):
    with services.backup_lock(holder="manual backup for someone"):
        bot.send(tg_admin, "/create_backup")
    assert "already running" in fake_telegram.last_text(tg_admin.id)
    assert not Backup.objects.exists()


def test_backup_status_shows_last_success_failures_and_staleness(bot, fake_telegram, tg_admin):
    BackupFactory(kind="daily", age=days(3))
    BackupFactory(kind="weekly", age=days(1), status="verified")
    Backup.objects.create(kind="manual", status="failed", error="boom")
    bot.send(tg_admin, "/backup_status")
    text = fake_telegram.last_text(tg_admin.id)
    assert "Backup status" in text
    assert "Failures in the last 30 days: 1" in text
    assert "Free disk:" in text
    assert "The daily backup is overdue" in text
    assert "weekly backup is overdue" not in text


def test_list_backups_is_paginated(bot, fake_telegram, tg_admin):
    created = [BackupFactory(age=days(i)) for i in range(12)]
    bot.send(tg_admin, "/list_backups")
    text = fake_telegram.last_text(tg_admin.id)
    assert "page 1 of 2" in text
    assert f"#{created[0].pk}" in text and f"#{created[11].pk}" not in text
    assert [b["text"] for b in fake_telegram.buttons(tg_admin.id)] == ["▶️"]
    bot.press_button(tg_admin, "▶️")
    text = fake_telegram.last_text(tg_admin.id)
    assert "page 2 of 2" in text and f"#{created[11].pk}" in text
    bot.send(tg_admin, "/list_backups ../../etc")
    assert "Usage" in fake_telegram.last_text(tg_admin.id)


@pytest.mark.parametrize("arg", ["../../etc/passwd", "abc", "1;2", "-3", "", "99999"])
def test_restore_backup_validates_the_id(bot, fake_telegram, tg_admin, arg):
    bot.send(tg_admin, f"/restore_backup {arg}".strip())
    text = fake_telegram.last_text(tg_admin.id)
    assert "Usage" in text or "number" in text or "There is no backup" in text
    assert not fake_telegram.buttons(tg_admin.id)


def test_restore_confirmation_expires_after_60_seconds(bot, fake_telegram, tg_admin):
    backup = BackupFactory()
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        bot.send(tg_admin, f"/restore_backup {backup.pk}")
        text = fake_telegram.last_text(tg_admin.id)
        assert "safety backup" in text and "60 seconds" in text
        data = next(b["callback_data"] for b in fake_telegram.buttons(tg_admin.id) if "Restore" in b["text"])
    with time_machine.travel("2026-03-01 10:01:01+00:00", tick=False):
        bot.press(tg_admin, data)
    assert "expired" in fake_telegram.last_text(tg_admin.id)
    assert not Backup.objects.filter(kind="safety").exists()
    # a forged signature is refused
    bot.press(tg_admin, data[:-4] + "0000")
    assert not Backup.objects.filter(kind="safety").exists()


@pytest.mark.django_db(transaction=True)
def test_restore_through_the_bot(bot, fake_telegram, tg_admin):
    CustomerFactory(first_name="before")
    before = snapshot()
    backup = services.backup_create(kind="manual")
    Customer.objects.update(first_name="after")
    bot.send(tg_admin, f"/restore_backup {backup.pk}")
    bot.press_button(tg_admin, "Restore")
    text = fake_telegram.last_text(tg_admin.id)
    assert f"Restored backup #{backup.pk}" in text, text
    assert "auth_permission: " in text  # the biggest tables, with their rows
    assert Backup.objects.filter(kind="safety").count() == 1
    after = snapshot()
    for name in ("shop_customer", "shop_plan"):
        assert after[name] == before[name]


def test_cleanup_previews_then_deletes_after_confirmation(bot, fake_telegram, tg_admin, settings):
    settings.BACKUP_RETENTION_DAYS = 30
    old = BackupFactory(age=days(40))
    recent = BackupFactory(age=days(2))
    bot.send(tg_admin, "/cleanup_backups")
    text = fake_telegram.last_text(tg_admin.id)
    assert f"#{old.pk}" in text and f"#{recent.pk}" not in text
    assert Backup.objects.count() == 2  # only a preview
    bot.press_button(tg_admin, "Delete 1")
    assert "Deleted 1 backups" in fake_telegram.last_text(tg_admin.id)
    assert list(Backup.objects.values_list("pk", flat=True)) == [recent.pk]


def test_cleanup_with_nothing_to_do(bot, fake_telegram, tg_admin):
    BackupFactory(age=days(1))
    bot.send(tg_admin, "/cleanup_backups")
    assert "Nothing to clean up" in fake_telegram.last_text(tg_admin.id)


def test_test_backup_reports_a_verified_backup(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/test_backup")
    backup = Backup.objects.get()
    assert backup.status == Backup.Status.VERIFIED, (backup.error, backup.verification)
    assert f"Backup #{backup.pk} verified" in fake_telegram.last_text(tg_admin.id)


def test_commands_answer_in_persian(bot, fake_telegram):
    admin = TelegramUser(9002, language_code="fa")
    bot.send(admin, "/backup_help")
    assert "پشتیبان" in fake_telegram.last_text(admin.id)


def test_test_backup_holds_the_lock_once_from_the_dump_to_the_verification(bot, fake_telegram, tg_admin,
                                                                            monkeypatch):
    """No other operation may slip in between making the test backup and verifying it."""
    acquired, released = [], []
    real_acquire, real_verify = lock._lock_acquire, verify.verify_locked

    def counting_acquire(holder):
        token = real_acquire(holder)
        acquired.append(token)
        return token

    def checking_verify(backup, progress):
        # the lock taken for the dump is still held, by the same holder
        released.extend(t for t in acquired if not BackupLock.objects.filter(token=t).exists())
        with pytest.raises(services.BackupBusy):
            services.backup_create(kind="manual", requested_by="someone else")
        return real_verify(backup, progress)

    monkeypatch.setattr(lock, "_lock_acquire", counting_acquire)  # looked up there by backup_lock
    monkeypatch.setattr(verify, "verify_locked", checking_verify)  # looked up there by backup_test
    bot.send(tg_admin, "/test_backup")
    backup = Backup.objects.get()
    assert backup.kind == "test" and backup.status == Backup.Status.VERIFIED, (backup.error, backup.verification)
    assert f"Backup #{backup.pk} verified" in fake_telegram.last_text(tg_admin.id)
    assert len(acquired) == 1  # taken once (the competitor was refused)
    assert released == []
    assert services.lock_holder() is None


def test_cancel_and_buttons_of_no_known_shape(bot, fake_telegram, tg_admin):
    """bk:no cancels; data of no shape the bot sends (an old or forged button) is answered
    by the transport, and nothing runs."""
    backup = BackupFactory()
    bot.send(tg_admin, f"/restore_backup {backup.pk}")
    bot.press_button(tg_admin, "Cancel")
    assert fake_telegram.calls_to("editMessageText", tg_admin.id)[-1].text == "Cancelled."
    for data in ("bk:list:x", "bk:rs:1:2", f"bk:rs:{backup.pk}:1:NOTHEX", "bk:cl:1:2:3:4", "bk:"):
        bot.press(tg_admin, data)
    answers = [c.params.get("text") for c in fake_telegram.calls_to("answerCallbackQuery")]
    assert answers[-5:] == ["This button is no longer valid. Please start again."] * 5
    assert not Backup.objects.filter(kind="safety").exists()


@pytest.mark.parametrize("page", ["999999", "0", "1234567", "-1"])
def test_list_backups_with_a_page_out_of_range_shows_a_page_or_the_usage(bot, fake_telegram, tg_admin, page):
    BackupFactory()
    bot.send(tg_admin, f"/list_backups {page}")
    text = fake_telegram.last_text(tg_admin.id)
    assert "page 1 of 1" in text or "Usage" in text
    bot.press(tg_admin, "bk:list:" + "9" * 40)
    assert "page 1 of 1" in fake_telegram.last_text(tg_admin.id)
