"""manage.py backup_verify [<id>] [--test]: restore a backup into a scratch database and
compare its tables (default: the newest), or make a test backup and verify it."""

from backups import selectors, services

from ._base import BackupCommand


class Command(BackupCommand):
    help = "Restore a backup into a scratch database and compare its tables (default: the newest)."

    def add_arguments(self, parser):
        parser.add_argument("backup_id", nargs="?")
        parser.add_argument("--test", action="store_true", help="make a fresh backup with checksums and verify it")

    def run(self, *, backup_id, test, **options):
        if test:
            backup, report = services.backup_test(requested_by="cli", progress=self.progress)
        else:
            if backup_id is None:
                newest = selectors.backup_newest_made()
                if newest is None:
                    raise services.BackupError("there is no backup to verify")
                backup_id = newest.pk
            report = services.backup_verify(backup_id=backup_id, requested_by="cli", progress=self.progress)
            backup = services.backup_get(backup_id=backup_id)
        if report["ok"]:
            self.stdout.write(f"backup #{backup.pk} verified: {report['tables']} tables, {report['rows']} rows"
                              f"{' with checksums' if report['checksums'] else ''}")
        else:
            raise services.BackupError(f"backup #{backup.pk} differs: " + "; ".join(report["mismatches"]))
