"""What every backup command shares: only the model and database system checks, a
BackupError shown as a command error, and progress on stderr with -v 2."""

from django.core import checks
from django.core.management.base import BaseCommand, CommandError

from backups import reporting, services


class BackupCommand(BaseCommand):
    # Only the model and database checks: a backup or a restore must not be refused because of an
    # unrelated check (URLs, admin, templates, the API schema), and the full run would import the
    # URLconf with the admin and API views, about 6 MB more in a process that otherwise needs none
    # of them. `manage.py check` still runs them all.
    requires_system_checks = [checks.Tags.models, checks.Tags.database]

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except services.BackupError as exc:
            raise CommandError(str(exc)) from None

    def progress(self, stage: str, done: int) -> None:
        if self.verbosity > 1:
            self.stderr.write(f"{stage}: {reporting.fmt_size(done)}")

    def handle(self, *args, **options):
        self.verbosity = options.get("verbosity", 1)
        return self.run(**options)
