"""manage.py backup_status: the status board of /backup_status, as plain text."""

import re

from backups import reporting, services

from ._base import BackupCommand


class Command(BackupCommand):
    help = "Show the backup status (last success per kind, failures, sizes, warnings)."

    def run(self, **options):
        text = reporting.status_text(services.backup_status())
        self.stdout.write(re.sub(r"</?b>", "", text))
