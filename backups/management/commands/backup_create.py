"""manage.py backup_create [--kind …] [--checksums] [--no-telegram]: a backup made now, from
the shell (when the bot is down)."""

from backups import reporting, services
from backups.models import Backup

from ._base import BackupCommand


class Command(BackupCommand):
    help = "Make a backup of the database now (one runs at a time)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", default="manual", choices=[k for k in Backup.Kind.values if k != "safety"])
        parser.add_argument("--checksums", action="store_true", help="record per-table checksums (slower)")
        parser.add_argument("--no-telegram", action="store_true", help="do not copy it to BACKUP_CHAT_ID")

    def run(self, *, kind, checksums, no_telegram, **options):
        backup = services.backup_create(kind=kind, requested_by="cli", checksums=checksums, progress=self.progress,
                                        copy_to_telegram=not no_telegram)
        self.stdout.write(f"backup #{backup.pk} {backup.file_name} {reporting.fmt_size(backup.size_bytes)} "
                          f"in {backup.duration_ms / 1000:.1f} s sha256 {backup.checksum_sha256}")
        if backup.telegram_error:
            self.stderr.write(f"copy to Telegram failed: {backup.telegram_error}")
