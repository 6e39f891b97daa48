"""Damaged, truncated, foreign and wrongly keyed files are refused before anything changes."""

import json

import pytest
from django.db import connection

from backups import container, services
from backups.models import Backup
from backups.storage import LocalStorage, StorageError, check_name, get_storage
from tests.factories import CustomerFactory
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def made(settings):
    CustomerFactory(first_name="kept")
    backup = services.backup_create(kind="manual", requested_by="test")
    Customer.objects.update(first_name="after the backup")
    return backup


def _path(backup):
    return get_storage().local_path(backup.file_name)


def _assert_untouched(backup):
    assert list(Customer.objects.values_list("first_name", flat=True)) == ["after the backup"]
    assert Backup.objects.filter(kind=Backup.Kind.SAFETY).count() == 0


def test_files_are_private_and_have_a_sidecar(made):
    path = _path(made)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    sidecar = json.loads(path.with_name(path.name + ".json").read_text())
    assert sidecar["sha256"] == made.checksum_sha256 == container.file_sha256(path)
    assert sidecar["vendor"] == connection.vendor
    assert "rows" in sidecar["tables"]["shop_customer"]  # committed rows only (this test is in a transaction)
    assert sidecar["size"] == made.size_bytes == path.stat().st_size


def test_an_altered_file_is_refused(made):
    path = _path(made)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(services.BackupError, match="checksum"):
        services.backup_restore(backup_id=made.pk)
    _assert_untouched(made)


def test_a_truncated_file_is_refused(made):
    path = _path(made)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(services.BackupError, match="checksum"):
        services.backup_restore(backup_id=made.pk)
    with pytest.raises(services.BackupError, match="checksum"):
        services.backup_verify(backup_id=made.pk)
    _assert_untouched(made)


def test_a_missing_file_is_refused(made):
    _path(made).unlink()
    with pytest.raises(services.BackupError, match="missing"):
        services.backup_restore(backup_id=made.pk)
    _assert_untouched(made)


def test_a_file_from_another_vendor_is_refused(made):
    other = "mysql" if connection.vendor != "mysql" else "postgresql"
    path = _path(made)
    with open(path, "wb") as fh:
        writer = container.Writer(fh, vendor=other, compression="zstd")
        writer.write(b"-- a dump of another database\n")
        made.checksum_sha256 = writer.close()
    made.save()
    with pytest.raises(services.BackupError, match=f"from a {other} database"):
        services.backup_restore(backup_id=made.pk)
    _assert_untouched(made)


def test_an_encrypted_backup_needs_the_right_key(settings):
    settings.BACKUP_ENCRYPTION_KEY = "the-right-key"
    CustomerFactory()
    backup = services.backup_create(kind="manual")
    assert b"shop_customer" not in _path(backup).read_bytes()
    Customer.objects.update(first_name="after the backup")
    settings.BACKUP_ENCRYPTION_KEY = "a-wrong-key"
    with pytest.raises(services.BackupError, match="wrong BACKUP_ENCRYPTION_KEY"):
        services.backup_restore(backup_id=backup.pk)
    settings.BACKUP_ENCRYPTION_KEY = ""
    with pytest.raises(services.BackupError, match="encrypted"):
        services.backup_restore(backup_id=backup.pk)
    _assert_untouched(backup)


def test_a_failed_or_running_backup_cannot_be_restored():
    backup = Backup.objects.create(kind="manual", status=Backup.Status.FAILED, error="boom")
    with pytest.raises(services.BackupError, match="no usable file"):
        services.backup_restore(backup_id=backup.pk)


@pytest.mark.parametrize("text", ["../../etc/passwd", "1/../2", "1; DROP TABLE x", "", "-1", "0", "12a",
                                  "1e3", " ", "9" * 13, None, "%2e%2e%2f"])
def test_ids_from_people_are_validated(text):
    with pytest.raises(services.BackupNotFound):
        services.backup_get(backup_id=text)


@pytest.mark.parametrize("name", ["../x.vbk", "/etc/passwd", "a/b.vbk", ".hidden", "x..vbk", "", "a\x00b"])
def test_storage_refuses_names_outside_its_directory(name, tmp_path):
    with pytest.raises(StorageError):
        check_name(name)
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).path(name)


def test_the_container_detects_truncation_and_tampering_when_encrypted():
    import io

    raw = bytes(range(256)) * 20000  # ~5 MB, several chunks
    buf = io.BytesIO()
    writer = container.Writer(buf, vendor="sqlite", compression="", encryption_key="k")
    for i in range(0, len(raw), 300_000):
        writer.write(raw[i:i + 300_000])
    writer.close()
    data = buf.getvalue()
    _header, chunks = container.iter_payload(io.BytesIO(data), encryption_key="k")
    assert b"".join(chunks) == raw
    # drop the last chunk: a chunk boundary truncation is still detected
    first_len = int.from_bytes(data[8:12], "big") + 12
    chunk_len = int.from_bytes(data[first_len:first_len + 4], "big") + 4
    # flip every bit of one ciphertext byte (replacing it with a fixed byte can leave it unchanged)
    flipped = data[:first_len + 10] + bytes([data[first_len + 10] ^ 0xFF]) + data[first_len + 11:]
    for broken in (data[:first_len + chunk_len], data[:-1], flipped):
        with pytest.raises(container.ContainerError):
            _header, chunks = container.iter_payload(io.BytesIO(broken), encryption_key="k")
            b"".join(chunks)


@pytest.mark.parametrize("algorithm", ["zstd", "gzip"])
def test_compressed_payloads_round_trip_and_truncation_is_detected(algorithm):
    import io
    import os

    raw = os.urandom(1000) * 3000
    buf = io.BytesIO()
    writer = container.Writer(buf, vendor="sqlite", compression=algorithm)
    writer.write(raw)
    writer.close()
    assert len(buf.getvalue()) < len(raw) / 10
    _h, chunks = container.iter_payload(io.BytesIO(buf.getvalue()))
    assert b"".join(chunks) == raw
    with pytest.raises(container.ContainerError):
        _h, chunks = container.iter_payload(io.BytesIO(buf.getvalue()[:-20]))
        b"".join(chunks)


def test_zstd_payloads_are_decompressed_in_bounded_pieces():
    """A highly compressible dump comes back in pieces near the chunk size, not as one string per
    compressed chunk (1 MiB of zstd can hold far more than 1 MiB of SQL)."""
    import io

    raw = b"INSERT INTO t VALUES (1, 'same row again');\n" * 1_000_000  # ~45 MB, compresses >100:1
    buf = io.BytesIO()
    writer = container.Writer(buf, vendor="mysql", compression="zstd")
    for i in range(0, len(raw), container.CHUNK):
        writer.write(raw[i:i + container.CHUNK])
    writer.close()
    _h, chunks = container.iter_payload(io.BytesIO(buf.getvalue()))
    sizes, total = [], 0
    for chunk in chunks:
        assert raw[total:total + len(chunk)] == chunk
        total += len(chunk)
        sizes.append(len(chunk))
    assert total == len(raw)
    assert max(sizes) <= container.CHUNK
