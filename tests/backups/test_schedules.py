"""The default beat entries of the backups."""

import pytest
from django_celery_beat.models import PeriodicTask

from vpnbot.core.schedules import ensure_schedules

pytestmark = pytest.mark.django_db


def test_the_beat_entries_exist():


    ensure_schedules()
    names = set(PeriodicTask.objects.filter(name__startswith="backups:").values_list("name", flat=True))
    assert {"backups: daily backup", "backups: weekly backup", "backups: monthly backup",
            "backups: weekly verification"} <= names
