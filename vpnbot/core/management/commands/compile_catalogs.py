"""manage.py compile_catalogs: build the .mo files from the .po files (a build step)."""

from django.core.management.base import BaseCommand

from vpnbot.core.translations import compile_catalogs


class Command(BaseCommand):
    requires_system_checks = []  # the catalogs check would warn about what this command is about to build
    help = "Compile every app's translation catalogs (.po -> .mo); only the out-of-date ones unless --force."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="compile every catalog, even those up to date")

    def handle(self, *args, force=False, **options):
        written = compile_catalogs(force=force)
        for path in written:
            self.stdout.write(f"compiled {path}")
        self.stdout.write(self.style.SUCCESS(f"{len(written)} catalog(s) compiled"))
