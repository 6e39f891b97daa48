"""manage.py reconcile: the ledger against the balances and everything that moves money.
Prints the problems (or --json) and exits 1 when anything does not reconcile, 0 when whole.
A run of everything is recorded (a ReconciliationRun; the admins are told when the state
changes, as after the nightly run); --from/--to checks only the rows of those days."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from reports.services import PeriodError, day_range, reconcile
from reports.services.periods import parse_day
from reports.services.runs import as_text, reconciliation_run


class Command(BaseCommand):
    help = "Reconcile the wallet ledger; exit status 1 when it does not reconcile."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")
        parser.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="Check only the rows from this day")
        parser.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="... to this day (inclusive)")
        parser.add_argument("--no-record", action="store_true",
                            help="Do not keep the run (nor alert the admins)")

    def handle(self, *args, **options):
        period = None
        if options["first"] or options["last"]:
            if not (options["first"] and options["last"]):
                raise CommandError(_("Give both --from and --to."), returncode=2)
            try:
                period = day_range(parse_day(options["first"]), parse_day(options["last"]))
            except PeriodError as exc:
                raise CommandError(str(exc), returncode=2) from None
        run = None
        if period is None and not options["no_record"]:
            run = reconciliation_run(by="command")
            if run is None:
                self.stderr.write(_("Another reconciliation is running; this one is not recorded."))
        result = run if run is not None else reconcile(period)
        if options["json"]:
            self.stdout.write(json.dumps(_as_dict(result), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(as_text(result))
        if not result.ok:
            raise CommandError(_("The ledger does not reconcile."), returncode=1)


def _as_dict(result) -> dict:
    if hasattr(result, "as_dict"):
        return result.as_dict()
    return {"ok": result.ok, "scope": "all", "ledger_total_amount": result.ledger_total_amount,
            "balance_total_amount": result.balance_total_amount, "seconds": result.seconds, "run": result.pk,
            "problems": result.problems}
