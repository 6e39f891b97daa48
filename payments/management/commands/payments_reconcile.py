"""manage.py payments_reconcile [--strict]: run the reconciliation now (the job beat runs every
5 minutes): every payment pending for PAYMENTS_CHECK_AFTER_MINUTES is checked with its provider,
the abandoned ones expire. Prints how many were checked, credited, held and expired, and each
check that failed.

Exit code: a check that fails leaves its payment pending for the next run (a provider that did
not answer is the ordinary case, not a fault of the run), so the command fails (exit code 1)
only when checks were due and every one of them failed: no provider could be asked, which is
worth a look (the network, the providers' keys). With --strict, any failed check is exit code 1."""

from django.core import checks
from django.core.management.base import BaseCommand, CommandError, no_translations

from payments import services


class Command(BaseCommand):
    help = ("Check the pending online payments with their providers now and expire the abandoned ones; prints "
            "checked / credited / held / expired and the failed checks. Exit code 1 when checks were due and every "
            "one failed (no provider could be asked); a failed check leaves its payment pending for the next run. "
            "--strict: exit code 1 when any check failed.")
    requires_system_checks = [checks.Tags.models, checks.Tags.database]

    def add_arguments(self, parser):
        parser.add_argument("--strict", action="store_true", help="exit code 1 when any check failed")

    @no_translations  # English output, the same on every shop: scripts read it
    def handle(self, *, strict=False, **options):
        result = services.payments_reconcile()
        if not result.checked:
            self.stdout.write("Nothing to check: no online payment has been pending long enough.")
            return
        failed = len(result.errors)
        self.stdout.write(f"checked: {result.checked}, credited: {result.credited}, held: {result.held}, "
                          f"expired: {result.expired}, errors: {failed}")
        for line in result.errors:
            self.stderr.write(f"failed: {line}")
        if failed and (strict or failed == result.checked):
            raise CommandError(f"{failed} of {result.checked} check(s) failed; those payments stay pending",
                               returncode=1)
