"""manage.py panels_expire: disable on their panels the accounts whose time is over (the job
beat runs every minute), print what was disabled, extended, deleted and what failed; exit
code 1 when an account could not be brought in step (the next run tries it again)."""

from django.core import checks
from django.core.management.base import BaseCommand, CommandError, no_translations

from panels import reporting, services


class Command(BaseCommand):
    help = "Disable expired accounts on their panels now (and delete old ones when PANEL_DELETE_AFTER_DAYS is set)."
    requires_system_checks = [checks.Tags.models, checks.Tags.database]

    @no_translations  # English output, the same on every shop: scripts read it
    def handle(self, **options):
        try:
            result = services.accounts_expire()
        except reporting.ERRORS as exc:
            raise CommandError(reporting.error_text(exc)) from None
        self.stdout.write(f"disabled: {result.disabled}, extended: {result.extended}, deleted: {result.deleted}, "
                          f"failed: {len(result.failed)}")
        for line in result.failed:
            self.stderr.write(f"failed: {line}")
        if result.failed:
            raise CommandError(f"{len(result.failed)} account(s) not brought in step yet", returncode=1)
