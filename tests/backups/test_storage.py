"""The storage: no name leaves the backup directory."""

import pytest

from backups.storage import LocalStorage, StorageError, check_name


@pytest.mark.parametrize("name", ["../x.vbk", "/etc/passwd", "a/b.vbk", ".hidden", "x..vbk", "", "a\x00b"])
def test_storage_refuses_names_outside_its_directory(name, tmp_path):
    with pytest.raises(StorageError):
        check_name(name)
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).path(name)
