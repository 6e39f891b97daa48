"""manage.py panels_sync [--panel ID]: read every panel's accounts now (or one panel's), print
what each sync saw and changed; exit code 1 when a panel could not be read."""

from django.core import checks
from django.core.management.base import BaseCommand, CommandError, no_translations

from panels import reporting, selectors, services
from panels.models import Panel


class Command(BaseCommand):
    help = "Sync usage and status from the panels now (all active and draining panels, or --panel ID)."
    requires_system_checks = [checks.Tags.models, checks.Tags.database]

    def add_arguments(self, parser):
        parser.add_argument("--panel", type=int, help="Only this panel (its id)")

    @no_translations  # English output, the same on every shop: scripts read it
    def handle(self, *, panel=None, **options):
        if panel is not None:
            one = selectors.panels_with_counts().filter(pk=panel).first() if 0 < panel < 2**31 else None
            if one is None:
                raise CommandError(f"no panel with id {panel}")
            if one.kind == Panel.Kind.MANUAL or one.status == Panel.Status.DISABLED:
                raise CommandError(f"panel {one.name} is {'manual' if one.kind == Panel.Kind.MANUAL else 'disabled'}: "
                                   "nothing to sync")
            ids = [one.pk]
        else:
            ids = selectors.panel_ids_to_sync()
            if not ids:
                self.stdout.write("No panel to sync (none is active or draining, or all are manual).")
                return
        failed = 0
        for panel_id in ids:
            try:
                result = services.panel_sync(panel_id=panel_id)
            except reporting.ERRORS as exc:
                failed += 1
                self.stderr.write(f"panel #{panel_id}: FAILED: {reporting.error_text(exc)}")
                continue
            if result.error:
                failed += 1
                self.stderr.write(f"{result.panel}: FAILED: {result.error}")
            else:
                self.stdout.write(reporting.sync_text(result))
        if failed:
            raise CommandError(f"{failed} of {len(ids)} panel(s) could not be synced", returncode=1)
