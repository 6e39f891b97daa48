"""A backup's files in storage: their names, the `.json` metadata sidecar, and the checks a
file passes before it is read back (checksum, our format, the vendor, the key)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from .. import container
from ..models import Backup
from ..storage import BackupStorage, StorageError
from .errors import BackupError


def file_name(backup: Backup, vendor: str) -> str:
    stamp = backup.created_at.astimezone(UTC)
    return f"vpnbot-{backup.pk:06d}-{backup.kind}-{stamp:%Y%m%dT%H%M%SZ}.{vendor}.vbk"


def sidecar_name(name: str) -> str:
    return name + ".json"


def write_sidecar(storage: BackupStorage, name: str, data: dict) -> None:
    with storage.open_write(sidecar_name(name)) as fh:
        fh.write(json.dumps(data, indent=1, sort_keys=True, default=str).encode())


def _storage_sha256(storage: BackupStorage, name: str) -> str:
    sha = hashlib.sha256()
    with storage.open_read(name) as fh:
        while chunk := fh.read(container.CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def check_file(backup: Backup, storage: BackupStorage) -> dict:
    """Checksum first, then the header: the file must be ours, intact, of this vendor."""
    if not backup.is_usable:
        raise BackupError(_("Backup #%(id)s has no usable file (status: %(status)s).")
                          % {"id": backup.pk, "status": backup.status})
    try:
        if not storage.exists(backup.file_name):
            raise BackupError(_("The file of backup #%(id)s is missing.") % {"id": backup.pk})
        actual = _storage_sha256(storage, backup.file_name)
    except StorageError as exc:
        raise BackupError(str(exc)) from None
    if actual != backup.checksum_sha256:
        raise BackupError(_("The file of backup #%(id)s fails its SHA-256 checksum (truncated or altered); "
                            "nothing was changed.") % {"id": backup.pk})
    with storage.open_read(backup.file_name) as fh:
        try:
            header, _raw = container.read_header(fh)
        except container.ContainerError as exc:
            raise BackupError(str(exc)) from None
    return header


def check_vendor(header: dict, vendor: str) -> None:
    if header.get("vendor") != vendor:
        raise BackupError(_("This backup is from a %(theirs)s database and cannot be restored into %(ours)s; "
                            "nothing was changed.") % {"theirs": header.get("vendor"), "ours": vendor})
    if header.get("encryption") and not settings.BACKUP_ENCRYPTION_KEY:
        raise BackupError(_("This backup is encrypted: set BACKUP_ENCRYPTION_KEY to the key it was made with."))


def payload(fh: BinaryIO) -> Iterator[bytes]:
    """The dump inside an open backup file, decrypted and decompressed as it is read."""
    try:
        _header, chunks = container.iter_payload(fh, encryption_key=settings.BACKUP_ENCRYPTION_KEY)
    except container.ContainerError as exc:
        raise BackupError(str(exc)) from None
    return chunks


def check_decryptable(backup: Backup, storage: BackupStorage) -> None:
    """Decrypt the first chunk (a wrong key fails here, before anything is touched)."""
    with storage.open_read(backup.file_name) as fh:
        chunks = payload(fh)
        try:
            next(iter(chunks), None)
        except container.ContainerError as exc:
            raise BackupError(str(exc)) from None
