"""manage.py backup_restore <id> [--yes] [--no-safety-backup]: replace the database with a
backup, after a confirmation typed at the terminal."""

from django.core.management.base import CommandError

from backups import services

from ._base import BackupCommand


class Command(BackupCommand):
    help = ("Replace the current database with a backup (checksum checked first, a safety backup is "
            "taken first). Asks for confirmation unless --yes.")

    def add_arguments(self, parser):
        parser.add_argument("backup_id")
        parser.add_argument("--yes", action="store_true", help="do not ask")
        parser.add_argument("--no-safety-backup", action="store_true")

    def run(self, *, backup_id, yes, no_safety_backup, **options):
        backup = services.backup_get(backup_id=backup_id)
        if not yes:
            answer = input(f"Replace the whole database with backup #{backup.pk} ({backup.kind}, "
                           f"{backup.created_at:%Y-%m-%d %H:%M} UTC)? Type 'yes': ")
            if answer.strip().lower() != "yes":
                raise CommandError("not confirmed; nothing was changed")
        report = services.backup_restore(backup_id=backup.pk, requested_by="cli", progress=self.progress,
                                         safety_backup=not no_safety_backup)
        self.stdout.write(f"restored #{backup.pk} in {report['duration_ms'] / 1000:.1f} s: "
                          f"{len(report['tables'])} tables, {report['rows']} rows; safety backup "
                          f"#{report['safety_backup_id']}")
        for name, rows in sorted(report["tables"].items()):
            self.stdout.write(f"  {name}: {rows}")
        if report["missing_migrations"]:
            self.stdout.write(self.style.WARNING("the restored database lacks migrations: run manage.py migrate"))
