"""manage.py backup_import <file>: register a backup file made elsewhere (with its .json
sidecar), e.g. on a fresh server, so it can be verified and restored."""

from backups import services

from ._base import BackupCommand


class Command(BackupCommand):
    help = ("Register a backup file from elsewhere (with its .json sidecar next to it) so that "
            "backup_verify / backup_restore can use it, e.g. on a fresh server after `migrate`.")

    def add_arguments(self, parser):
        parser.add_argument("path")

    def run(self, *, path, **options):
        backup = services.backup_import(path=path)
        self.stdout.write(f"imported as backup #{backup.pk} ({backup.vendor}); restore it with "
                          f"manage.py backup_restore {backup.pk}")
