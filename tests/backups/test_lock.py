"""The one backup lock: a second request is busy, an expired holder is taken over, two
concurrent creates make one backup."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backups import services
from backups.models import Backup, BackupLock
from tests.conftest import run_threads

pytestmark = pytest.mark.django_db


def test_a_held_lock_makes_a_second_request_busy_and_an_expired_one_is_taken_over():
    with services.backup_lock(holder="first"):
        with pytest.raises(services.BackupBusy, match="first"):
            services.backup_create(kind="manual")
    assert not BackupLock.objects.exists()
    BackupLock.objects.create(name="backups", token="crashed", holder="dead worker",
                              acquired_at=timezone.now() - timedelta(days=1),
                              expires_at=timezone.now() - timedelta(hours=1))
    backup = services.backup_create(kind="manual")
    assert backup.status == Backup.Status.SUCCEEDED
    assert not BackupLock.objects.exists()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_one_runs():
    def create(i):
        return services.backup_create(kind="manual", requested_by=f"thread {i}")

    results = run_threads(create, 2)
    made = [r for r in results if isinstance(r, Backup)]
    busy = [r for r in results if isinstance(r, services.BackupBusy)]
    assert len(made) == 1 and len(busy) == 1, results
    assert Backup.objects.count() == 1
