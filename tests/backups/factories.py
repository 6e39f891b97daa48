import itertools
from datetime import timedelta

import factory
from django.utils import timezone

from backups.models import Backup

_n = itertools.count(1)


class BackupFactory(factory.django.DjangoModelFactory):
    """A catalogue row with a small file on disk (no real dump)."""

    class Meta:
        model = Backup
        skip_postgeneration_save = True

    kind = Backup.Kind.MANUAL
    status = Backup.Status.SUCCEEDED
    vendor = "sqlite"
    size_bytes = 4
    file_name = factory.LazyFunction(lambda: f"vpnbot-fake-{next(_n):06d}.vbk")

    @factory.post_generation
    def age(obj, create, extracted, **kwargs):
        from backups.storage import get_storage

        if obj.file_name:
            with get_storage().open_write(obj.file_name) as fh:
                fh.write(b"fake")
        if extracted is not None:
            Backup.objects.filter(pk=obj.pk).update(created_at=timezone.now() - extracted)
            obj.refresh_from_db()


def days(n: float) -> timedelta:
    return timedelta(days=n)
