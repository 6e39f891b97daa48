"""manage.py demo_data: a shop that looks lived in (six months of customers, receipts, orders,
renewals, referrals, discounts and cashback, a campaign, notifications, a backup), made only in
an empty database (--reset forgets the customers first); plus the admin login. Prints the
admin's address and, when the local chat is on, the chat page's."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from devchat.services import demo


class Command(BaseCommand):
    help = ("Make demo data (six months of a shop) in an empty database and the admin login; "
            "--reset starts over. Prints the admin URL and login.")

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the site runs, for the printed links")
        parser.add_argument("--reset", action="store_true",
                            help="First forget every customer, plan and what hangs on them (and the local chat)")
        parser.add_argument("--if-empty", action="store_true",
                            help="Make the history only when there are no customers; otherwise only say so (make run)")
        parser.add_argument("--customers", type=int, default=demo.DEFAULT_CUSTOMERS, help="How many (default %(default)s)")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="The story's seed (default %(default)s)")

    def handle(self, url, reset, if_empty, customers, seed, **options):
        if not 1 <= customers <= 5000:
            raise CommandError("--customers must be between 1 and 5000.")
        if reset:
            self.stdout.write(f"Forgot {demo.demo_reset():,} rows of the previous shop.")
        if if_empty and demo.customer_count():
            self.stdout.write("The shop has customers: no demo data made.")
        else:
            try:
                summary = demo.demo_build(customers=customers, seed=seed)
            except demo.DemoRefused as exc:
                raise CommandError(str(exc)) from None
            t = summary.tally
            self.stdout.write(self.style.SUCCESS(
                f"Demo shop made in {summary.seconds:.1f}s: {t.customers} customers ({t.referred} invited by others), "
                f"{t.receipts_approved} receipts approved and {t.receipts_rejected} rejected, {t.orders} orders "
                f"({t.renewals} renewals, {t.with_code} with the code {demo.PROMO_CODE}), {t.refunds} refunds"
                + (", a campaign" if summary.campaign else "") + (", a backup." if summary.backup else ".")))
        self.admin_login(url)

    def admin_login(self, url: str) -> None:
        password_file = settings.VAR_DIR / "admin-password.txt"
        user_model = get_user_model()
        if not user_model.objects.filter(username="admin").exists():
            password = secrets.token_urlsafe(12)
            user_model.objects.create_superuser("admin", "", password)
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        password = password_file.read_text().strip() if password_file.exists() else "(set earlier; see manage.py changepassword admin)"
        self.stdout.write(self.style.SUCCESS(f"Admin: {url}/admin/  login: admin  password: {password}"))
        if settings.LOCAL_CHAT:
            self.stdout.write(self.style.SUCCESS(f"Local chat (the bot without Telegram): {url}/dev/chat/"))
        self.stdout.write(f"API docs: {url}/api/docs/   health: {url}/healthz")
