"""manage.py backup_list [--limit 50]: the backups, newest first, one a line."""

from django.utils import timezone

from backups import reporting, selectors, services
from vpnbot.core import bounds

from ._base import BackupCommand


class Command(BackupCommand):
    help = "List backups, newest first."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=50)

    def run(self, *, limit, **options):
        if not 1 <= limit <= bounds.MAX_COUNT:  # a LIMIT past 64 bits is a database error, not an empty list
            raise services.BackupError(f"--limit must be between 1 and {bounds.MAX_COUNT:,}")
        for b in selectors.backups_newest()[:limit]:
            when = timezone.localtime(b.created_at).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(f"{b.pk:>6}  {when}  {b.kind:<8} {b.status:<9} {reporting.fmt_size(b.size_bytes):>10}  "
                              f"{'enc ' if b.encrypted else ''}{b.file_name or b.error[:60]}")
