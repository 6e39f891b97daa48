"""manage.py scheduled_messages_run: one pass of the scheduled messages' due job (the one beat
runs every minute): open the occurrences whose time has come and queue their recipients; the
worker sends them (--send: send them in this process too, for up to
NOTIFICATION_PROCESS_TIME_BUDGET seconds). Safe beside the beat job: nothing is sent twice."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from notifications import services


class Command(BaseCommand):
    help = "Open the scheduled messages' due occurrences and queue their recipients."

    def add_arguments(self, parser):
        parser.add_argument("--send", action="store_true", help="Also send what is due now, in this process")

    def handle(self, *args, **options):
        result = services.scheduled_messages_run()
        self.stdout.write(_("Scheduled messages: %(opened)s occurrence(s) opened, %(queued)s batch(es) queued for "
                            "%(recipients)s recipient(s), %(skipped)s skipped, %(finished)s schedule(s) finished.")
                          % result.__dict__)
        if result.busy:
            self.stdout.write(_("%(n)s schedule(s) were being handled by another processor.") % {"n": result.busy})
        if options["send"]:
            sent = services.notification_process()
            self.stdout.write(_("Sent now: %(sent)s, failed %(failed)s, deferred %(deferred)s.") % sent.__dict__)
