"""Backups named by the number a person typed: anything else is refused."""

import pytest

from backups import services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["../../etc/passwd", "1/../2", "1; DROP TABLE x", "", "-1", "0", "12a",
                                  "1e3", " ", "9" * 13, None, "%2e%2e%2f"])
def test_ids_from_people_are_validated(text):
    with pytest.raises(services.BackupNotFound):
        services.backup_get(backup_id=text)
