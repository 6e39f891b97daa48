"""The Celery tasks: a scheduled backup that finds another operation running tries again."""

import pytest
from celery.exceptions import Retry

from backups import services, tasks

pytestmark = pytest.mark.django_db


def test_a_scheduled_backup_retries_while_another_operation_runs(monkeypatch):


    def busy(**kwargs):
        raise services.BackupBusy("busy")

    monkeypatch.setattr(services, "backup_scheduled", busy)
    with pytest.raises(Retry):
        tasks.scheduled_backup.apply(kwargs={"kind": "daily"}, throw=True)
