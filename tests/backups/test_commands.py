"""The management commands (the backups when the bot is down) and the system checks they run."""

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from backups.models import Backup
from tests.backups.factories import BackupFactory, days
from vpnbot.core import bounds

pytestmark = pytest.mark.django_db


def test_management_commands(capsys, settings):
    settings.BACKUP_RETENTION_DAYS = 30
    call_command("backup_create")
    backup = Backup.objects.get()
    assert f"backup #{backup.pk}" in capsys.readouterr().out
    call_command("backup_list")
    assert backup.file_name in capsys.readouterr().out
    call_command("backup_verify", str(backup.pk))
    assert "verified" in capsys.readouterr().out
    call_command("backup_status")
    assert "Backup status" in capsys.readouterr().out
    BackupFactory(age=days(40))
    call_command("backup_cleanup")
    assert "1 backups would be deleted" in capsys.readouterr().out
    assert Backup.objects.count() == 2
    call_command("backup_cleanup", "--yes")
    assert Backup.objects.count() == 1
    with pytest.raises(CommandError, match="number"):
        call_command("backup_restore", "../../etc/passwd", "--yes")
    with pytest.raises(CommandError, match="no backup"):
        call_command("backup_restore", "424242", "--yes")


def test_backup_commands_run_the_model_checks_but_not_unrelated_ones(capsys):
    """A failing URL/admin check must not stop a backup (the full run would also import the
    URLconf, the admin and the API schema machinery); a model error still stops it."""

    def broken_url_check(**kwargs):
        return [checks.Error("an unrelated URL problem", id="test.E001")]

    def broken_model_check(**kwargs):
        return [checks.Error("a model problem", id="test.E002")]

    registry = checks.registry.registry
    checks.register(broken_url_check, checks.Tags.urls)
    try:
        call_command("backup_status", skip_checks=False)
        assert "Backup status" in capsys.readouterr().out
        checks.register(broken_model_check, checks.Tags.models)
        with pytest.raises(SystemCheckError, match="a model problem"):
            call_command("backup_status", skip_checks=False)
    finally:
        registry.registered_checks.discard(broken_url_check)
        registry.registered_checks.discard(broken_model_check)


@pytest.mark.parametrize("limit", ["0", "-5", str(10**30), str(bounds.MAX_COUNT + 1)])
def test_backup_list_refuses_a_limit_out_of_bounds(capsys, limit):
    BackupFactory()
    with pytest.raises(CommandError, match="--limit"):
        call_command("backup_list", "--limit", limit)
    call_command("backup_list", "--limit", str(bounds.MAX_COUNT))
    assert capsys.readouterr().out.strip()
