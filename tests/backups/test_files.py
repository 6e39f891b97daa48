"""Damaged, truncated, missing, foreign and wrongly keyed files are refused before anything
changes (the checks a file passes before it is read back)."""

import pytest
from django.db import connection

from backups import container, services
from backups.models import Backup
from tests.backups.conftest import assert_untouched, backup_path
from tests.factories import CustomerFactory
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db


def test_an_altered_file_is_refused(made):
    path = backup_path(made)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(services.BackupError, match="checksum"):
        services.backup_restore(backup_id=made.pk)
    assert_untouched(made)


def test_a_truncated_file_is_refused(made):
    path = backup_path(made)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(services.BackupError, match="checksum"):
        services.backup_restore(backup_id=made.pk)
    with pytest.raises(services.BackupError, match="checksum"):
        services.backup_verify(backup_id=made.pk)
    assert_untouched(made)


def test_a_missing_file_is_refused(made):
    backup_path(made).unlink()
    with pytest.raises(services.BackupError, match="missing"):
        services.backup_restore(backup_id=made.pk)
    assert_untouched(made)


def test_a_file_from_another_vendor_is_refused(made):
    other = "mysql" if connection.vendor != "mysql" else "postgresql"
    path = backup_path(made)
    with open(path, "wb") as fh:
        writer = container.Writer(fh, vendor=other, compression="zstd")
        writer.write(b"-- a dump of another database\n")
        made.checksum_sha256 = writer.close()
    made.save()
    with pytest.raises(services.BackupError, match=f"from a {other} database"):
        services.backup_restore(backup_id=made.pk)
    assert_untouched(made)


def test_an_encrypted_backup_needs_the_right_key(settings):
    settings.BACKUP_ENCRYPTION_KEY = "the-right-key"
    CustomerFactory()
    backup = services.backup_create(kind="manual")
    assert b"shop_customer" not in backup_path(backup).read_bytes()
    Customer.objects.update(first_name="after the backup")
    settings.BACKUP_ENCRYPTION_KEY = "a-wrong-key"
    with pytest.raises(services.BackupError, match="wrong BACKUP_ENCRYPTION_KEY"):
        services.backup_restore(backup_id=backup.pk)
    settings.BACKUP_ENCRYPTION_KEY = ""
    with pytest.raises(services.BackupError, match="encrypted"):
        services.backup_restore(backup_id=backup.pk)
    assert_untouched(backup)


def test_a_failed_or_running_backup_cannot_be_restored():
    backup = Backup.objects.create(kind="manual", status=Backup.Status.FAILED, error="boom")
    with pytest.raises(services.BackupError, match="no usable file"):
        services.backup_restore(backup_id=backup.pk)
