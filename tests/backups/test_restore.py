"""Restores: every table comes back, whatever the compression and key; a file from elsewhere
is imported and restored."""

import shutil

import pytest
from django.core.management import call_command

from backups import services
from backups.models import Backup, BackupLock
from backups.storage import get_storage
from tests.backups.conftest import seed_shop, snapshot
from tests.factories import CustomerFactory
from vpnbot.shop.models import Customer, Plan


def _change():
    Customer.objects.order_by("pk").first().delete()
    Customer.objects.update(first_name="changed")
    CustomerFactory()
    Plan.objects.all().delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("compression,algorithm,key", [
    (True, "zstd", ""),
    (True, "gzip", "a-long-random-secret-key-for-tests"),
    (False, "zstd", "another-secret"),
])
def test_backup_change_restore_gives_back_every_table(settings, compression, algorithm, key):
    settings.BACKUP_COMPRESSION = compression
    settings.BACKUP_COMPRESSION_ALGORITHM = algorithm
    settings.BACKUP_ENCRYPTION_KEY = key
    seed_shop()
    before = snapshot()
    backup = services.backup_create(kind="manual", requested_by="test")
    assert backup.status == Backup.Status.SUCCEEDED
    assert backup.encrypted is bool(key)
    assert backup.metadata["tables"]["shop_customer"]["rows"] == 5
    assert any(m.startswith("backups.") for m in backup.metadata["migrations"])
    _change()
    assert snapshot() != before

    report = services.backup_restore(backup_id=backup.pk, requested_by="test")

    assert snapshot() == before
    assert report["tables"]["shop_customer"] == 5
    safety = Backup.objects.get(pk=report["safety_backup_id"])
    assert safety.kind == Backup.Kind.SAFETY and safety.status == Backup.Status.SUCCEEDED
    # the catalogue is the one from before the restore, and the lock is free again
    assert set(Backup.objects.values_list("pk", flat=True)) == {backup.pk, safety.pk}
    assert not BackupLock.objects.exists()
    # the safety backup brings the changed data back
    services.backup_restore(backup_id=safety.pk, requested_by="test", safety_backup=False)
    assert Customer.objects.filter(first_name="changed").exists()
    # and new backups still get fresh ids after the catalogue was put back
    assert services.backup_create(kind="manual").pk > safety.pk


@pytest.mark.django_db(transaction=True)
def test_import_a_file_from_elsewhere_and_restore_it(tmp_path, capsys):



    seed_shop()
    before = snapshot()
    backup = services.backup_create(kind="daily")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    src = get_storage().local_path(backup.file_name)
    shutil.copy(src, elsewhere / src.name)
    shutil.copy(str(src) + ".json", elsewhere / (src.name + ".json"))
    _change()
    call_command("backup_import", str(elsewhere / src.name))
    imported = Backup.objects.exclude(pk=backup.pk).get()
    assert f"#{imported.pk}" in capsys.readouterr().out
    call_command("backup_restore", str(imported.pk), "--yes", "--no-safety-backup")
    assert snapshot() == before
    # an altered file is refused at import
    (elsewhere / src.name).write_bytes(b"VPNBKP1\n" + b"x" * 100)
    with pytest.raises(Exception, match="SHA-256"):
        call_command("backup_import", str(elsewhere / src.name))
