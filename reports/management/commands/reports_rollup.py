"""manage.py reports_rollup: keep the figures of the closed days the reports read (the nightly
job does the same at 03:10). Days already kept are left alone, except the last two closed ones;
--rebuild computes every day of the range again (after the reconciliation's "rollup" check
failed, or a change of TIME_ZONE). Exit 2 on a bad date or when another run holds the lock."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from reports.services import PeriodError
from reports.services.periods import parse_day
from reports.services.runs import rollup_run


class Command(BaseCommand):
    help = "Roll up the closed days' figures the financial reports read."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="From this day (default: the first customer's)")
        parser.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="... to this day (default and latest: yesterday)")
        parser.add_argument("--rebuild", action="store_true", help="Compute the days already kept again too")

    def handle(self, *args, **options):
        try:
            since = parse_day(options["first"]) if options["first"] else None
            until = parse_day(options["last"]) if options["last"] else None
        except PeriodError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if since and until and until < since:
            raise CommandError(_("The end date is before the start date."), returncode=2)

        def progress(i, n, day):
            if i == n or i % 30 == 0:
                self.stdout.write(_("%(i)s of %(n)s days (%(day)s)") % {"i": i, "n": n, "day": day.isoformat()})

        done = rollup_run(by="command", since=since, until=until, rebuild=options["rebuild"], progress=progress)
        if done is None:
            raise CommandError(_("Another roll-up is running; try again when it has finished."), returncode=2)
        if not done["days"]:
            self.stdout.write(_("Nothing to roll up: every closed day is kept."))
        else:
            self.stdout.write(_("Rolled up %(days)s days (%(first)s to %(last)s) in %(seconds)s s.") % done)
