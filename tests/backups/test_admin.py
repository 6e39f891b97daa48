"""The admin: the list, downloads and create / verify / restore behind confirmations, for staff
who may change backups only."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from backups import tasks
from backups.models import Backup
from tests.admin_i18n import assert_shows
from tests.backups.factories import BackupFactory

pytestmark = pytest.mark.django_db


def test_admin_list_download_and_confirmations(client, staff):
    client.force_login(staff)
    backup = BackupFactory()
    page = client.get(reverse("admin:backups_backup_changelist"))
    assert page.status_code == 200 and b"download" in page.content
    download = client.get(reverse("admin:backups_backup_download", args=[backup.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"fake"
    # create: a confirmation page first
    assert b"Create the backup" in client.get(reverse("admin:backups_backup_create")).content
    assert Backup.objects.count() == 1
    client.post(reverse("admin:backups_backup_create"), {"confirm": "yes"})
    assert Backup.objects.filter(kind="manual", requested_by="admin:boss", status="succeeded").exists()
    # restore: an intermediate page and nothing done without the confirmation
    url = reverse("admin:backups_backup_changelist")
    page = client.post(url, {"action": "restore_action", "_selected_action": [backup.pk]})
    assert b"Replace the database" in page.content
    assert not Backup.objects.filter(kind="safety").exists()


def test_admin_download_is_staff_only(client, django_user_model):
    backup = BackupFactory()
    user = django_user_model.objects.create_user("cust", password="pw")
    client.force_login(user)
    response = client.get(reverse("admin:backups_backup_download", args=[backup.pk]))
    assert response.status_code == 302  # to the admin login


@pytest.fixture
def viewer(client, django_user_model):
    """Staff allowed to see the backups list, nothing more."""

    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_backup"))
    client.force_login(user)
    return user


def test_staff_who_may_only_view_cannot_restore_create_verify_or_download(client, viewer, monkeypatch):

    queued = []
    monkeypatch.setattr(tasks.run_for_chat, "delay", lambda *args: queued.append(args))
    backup = BackupFactory()
    url = reverse("admin:backups_backup_changelist")
    page = client.get(url)
    assert page.status_code == 200
    assert b"restore_action" not in page.content and b"verify_action" not in page.content
    assert b"download" not in page.content and b"Create a backup" not in page.content
    client.post(url, {"action": "restore_action", "_selected_action": [backup.pk], "confirm": "yes"})
    client.post(url, {"action": "verify_action", "_selected_action": [backup.pk], "confirm": "yes"})
    assert client.get(reverse("admin:backups_backup_download", args=[backup.pk])).status_code == 403
    assert client.post(reverse("admin:backups_backup_create"), {"confirm": "yes"}).status_code == 403
    assert queued == []
    assert list(Backup.objects.values_list("pk", "status")) == [(backup.pk, "succeeded")]


def test_admin_verify_and_restore_use_the_shared_confirmation_page(client, staff, monkeypatch):

    queued = []
    monkeypatch.setattr(tasks.run_for_chat, "delay", lambda *args: queued.append(args))
    client.force_login(staff)
    backup, failed = BackupFactory(), BackupFactory(status=Backup.Status.FAILED, file_name="")
    url = reverse("admin:backups_backup_changelist")
    for action in ("verify_action", "restore_action"):
        page = client.post(url, {"action": action, "_selected_action": [backup.pk]})
        assert "admin/confirm_action.html" in [t.name for t in page.templates], action
    assert queued == []
    client.post(url, {"action": "verify_action", "_selected_action": [backup.pk, failed.pk], "confirm": "yes"})
    client.post(url, {"action": "restore_action", "_selected_action": [backup.pk], "confirm": "yes"})
    assert [(q[0], q[-1]) for q in queued] == [("verify", backup.pk), ("restore", backup.pk)]


BACKUP_TEXTS = {
    "fa": {"list": ("بررسی پشتیبان‌های انتخاب‌شده (بازیابی در یک پایگاه داده‌ی موقت)",
                    "بازیابی پشتیبان انتخاب‌شده (جایگزین پایگاه داده می‌شود)", "ساختن پشتیبان", "دانلود"),
           "create": ("ساختن پشتیبان", "همین حالا از کل پایگاه داده یک فایل پشتیبان تازه ساخته می‌شود.", "انصراف"),
           "create_button": 'value="پشتیبان ساخته شود"',
           "restore": ("پشتیبان #{id} بازیابی شود؟", "ابتدا چک‌سام فایل بررسی می‌شود", "انصراف"),
           "restore_button": 'value="پایگاه داده با این پشتیبان جایگزین شود"',
           "queued": "بازیابی پشتیبان #{id} در صف قرار گرفت. اگر عملیات پشتیبان‌گیری دیگری در حال اجرا باشد",
           "refused": "برای بازیابی، دقیقاً یک پشتیبان قابل استفاده انتخاب کنید."},
    "en": {"list": ("Verify the selected backups (restore into a scratch database)",
                    "Restore the selected backup (replaces the database)", "Create a backup", "download"),
           "create": ("Create a backup", "Dump the whole database now into a new backup file.", "Cancel"),
           "create_button": 'value="Create the backup"',
           "restore": ("Restore backup #{id}?", "The file's checksum is checked", "Cancel"),
           "restore_button": 'value="Replace the database with this backup"',
           "queued": "The restore of backup #{id} was queued. If another backup operation is running",
           "refused": "Select exactly one usable backup to restore."},
}


@pytest.mark.parametrize("language", ["fa", "en"])
def test_admin_backups_read_in_the_operators_language(client, staff, monkeypatch, language):
    texts = BACKUP_TEXTS[language]
    monkeypatch.setattr(tasks.run_for_chat, "delay", lambda *args: None)
    client.force_login(staff)
    backup, other = BackupFactory(), BackupFactory()
    url = reverse("admin:backups_backup_changelist")
    assert_shows(client.get(url, HTTP_ACCEPT_LANGUAGE=language), *texts["list"])
    create = client.get(reverse("admin:backups_backup_create"), HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(create, *texts["create"])
    assert texts["create_button"] in create.content.decode()
    page = client.post(url, {"action": "restore_action", "_selected_action": [backup.pk]}, HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(page, *(text.format(id=backup.pk) for text in texts["restore"]))
    assert texts["restore_button"] in page.content.decode()
    done = client.post(url, {"action": "restore_action", "_selected_action": [backup.pk], "confirm": "yes"}, follow=True,
                       HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(done, texts["queued"].format(id=backup.pk))
    refused = client.post(url, {"action": "restore_action", "_selected_action": [backup.pk, other.pk]}, follow=True,
                          HTTP_ACCEPT_LANGUAGE=language)
    assert_shows(refused, texts["refused"])
