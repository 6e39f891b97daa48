"""manage.py backup_cleanup [--yes]: the retention plan, deleted once confirmed."""

from backups import reporting, services

from ._base import BackupCommand


class Command(BackupCommand):
    help = "Delete backups by the retention rules (shows the plan; --yes to delete)."

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="delete; without it only the plan is shown")

    def run(self, *, yes, **options):
        plan = services.backup_cleanup_plan()
        for b in plan:
            self.stdout.write(f"{'delete' if yes else 'would delete'} #{b.pk} {b.kind} {b.status} "
                              f"{b.created_at:%Y-%m-%d} {reporting.fmt_size(b.size_bytes)}")
        if not yes:
            self.stdout.write(f"{len(plan)} backups would be deleted; run with --yes to delete them")
            return
        deleted = services.backup_cleanup(only_ids={b.pk for b in plan}, requested_by="cli")
        self.stdout.write(f"deleted {len(deleted)} backups")
