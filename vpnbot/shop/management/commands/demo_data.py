"""manage.py demo_data: demo plans and the admin login, created once, for a first look
at the shop (the admin URL and password are printed)."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from vpnbot.shop.models import Plan

PLANS = [
    ("Bronze 1 month", 30, 30, 1, 99_000, 10),
    ("Silver 1 month", 30, 100, 2, 149_000, 20),
    ("Gold 1 month", 30, 0, 3, 219_000, 30),
]


class Command(BaseCommand):
    help = "Load demo plans and create the admin login (once). Prints the admin URL and login."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the site runs, for the printed link")

    def handle(self, url, **options):
        for name, days, gb, devices, price, order in PLANS:
            Plan.objects.get_or_create(name=name, defaults={"duration_days": days, "traffic_gb": gb, "device_limit": devices,
                                                            "price_amount": price, "sort_order": order})
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
        self.stdout.write(f"API docs: {url}/api/docs/   health: {url}/healthz")
