from django.core.management.base import BaseCommand, CommandError

from backups import services


class BackupCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except services.BackupError as exc:
            raise CommandError(str(exc)) from None

    def progress(self, stage: str, done: int) -> None:
        if self.verbosity > 1:
            self.stderr.write(f"{stage}: {services.fmt_size(done)}")

    def handle(self, *args, **options):
        self.verbosity = options.get("verbosity", 1)
        return self.run(**options)
