"""Where backup files live: a pluggable interface (BACKUP_STORAGE) with a local-disk default.

Names come from the database (`Backup.file_name`), but every name is still checked against a
strict pattern so a crafted name can never leave the backup directory.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils.module_loading import import_string

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class StorageError(Exception):
    pass


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name:
        raise StorageError(f"invalid backup file name: {name!r}")
    return name


class BackupStorage:
    """The interface. `local_path` may return None for remote stores (then `open_read`)."""

    def open_write(self, name: str) -> BinaryIO:
        raise NotImplementedError

    def open_read(self, name: str) -> BinaryIO:
        raise NotImplementedError

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def size(self, name: str) -> int:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError

    def local_path(self, name: str) -> Path | None:
        return None

    def free_bytes(self) -> int | None:
        return None

    def scratch_dir(self) -> Path:
        """A private local directory for temporary files (decoded dumps)."""
        raise NotImplementedError


class LocalStorage(BackupStorage):
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root or settings.BACKUP_DIR)

    def _ensure(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        return self.root

    def path(self, name: str) -> Path:
        root = self._ensure().resolve()
        path = (root / check_name(name)).resolve()
        if path.parent != root:
            raise StorageError(f"invalid backup file name: {name!r}")
        return path

    def open_write(self, name: str) -> BinaryIO:
        path = self.path(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "wb")

    def open_read(self, name: str) -> BinaryIO:
        return open(self.path(name), "rb")

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def size(self, name: str) -> int:
        return self.path(name).stat().st_size

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def local_path(self, name: str) -> Path | None:
        return self.path(name)

    def free_bytes(self) -> int | None:
        return shutil.disk_usage(self._ensure()).free

    def scratch_dir(self) -> Path:
        path = self._ensure() / ".tmp"
        path.mkdir(exist_ok=True)
        os.chmod(path, 0o700)
        return path


def get_storage() -> BackupStorage:
    cls = import_string(getattr(settings, "BACKUP_STORAGE", "backups.storage.LocalStorage"))
    return cls()
