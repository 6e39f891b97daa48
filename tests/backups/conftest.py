import pytest
from django.db import connection
from django.utils import translation

from backups import services
from backups.engines import engine_for
from backups.models import Backup
from backups.storage import get_storage
from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop.models import Customer

BACKUP_TABLES = ("backups_backup", "backups_backuplock")


@pytest.fixture(autouse=True)
def backup_settings(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_CHAT_ID = ""
    settings.BACKUP_ENCRYPTION_KEY = ""
    settings.BACKUP_COMPRESSION = True
    settings.BACKUP_COMPRESSION_ALGORITHM = "zstd"
    settings.BACKUP_TELEGRAM_PART_BYTES = 0
    settings.LANGUAGE_CODE = "en"  # messages asserted below are the English msgids
    with translation.override("en"):
        yield settings


def snapshot() -> dict:
    """Per-table row counts and checksums of the live database, except the backups' own
    catalogue (kept as it was across a restore, by design)."""
    tables = engine_for(connection).inspect(checksums=True)["tables"]
    return {name: stats for name, stats in tables.items() if name not in BACKUP_TABLES}


def seed_shop():
    """Five customers with non-ASCII names, and a plan."""
    for i in range(5):
        CustomerFactory(first_name=f"Name {i} ✓ سلام")
    PlanFactory(name="Gold", price_amount=250_000)


@pytest.fixture
def made(settings):
    """A real backup of a database with one customer, who was renamed after the backup."""
    CustomerFactory(first_name="kept")
    backup = services.backup_create(kind="manual", requested_by="test")
    Customer.objects.update(first_name="after the backup")
    return backup


def backup_path(backup):
    return get_storage().local_path(backup.file_name)


def assert_untouched(backup):
    """The database is as `made` left it: nothing restored, no safety backup taken."""
    assert list(Customer.objects.values_list("first_name", flat=True)) == ["after the backup"]
    assert Backup.objects.filter(kind=Backup.Kind.SAFETY).count() == 0


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
