"""What a shop has set up before its first customer: plans, a welcome discount for first
purchases, a promo code, a cashback rule, and configs for the demo's accounts (no real panel)."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from datetime import datetime, timedelta

from discounts.models import CashbackRule, SmartDiscount
from discounts.services import cashback_rule_create, discount_create
from vpnbot.shop import provisioning
from vpnbot.shop.models import Plan
from vpnbot.shop.provisioning import Provisioner

# (name, days, GB (0 = unlimited), devices, price, sort order)
PLANS = [
    ("Bronze 1 month", 30, 30, 1, 99_000, 10),
    ("Silver 1 month", 30, 100, 2, 149_000, 20),
    ("Gold 1 month", 30, 0, 3, 219_000, 30),
    ("Silver 3 months", 90, 300, 2, 399_000, 40),
]
PROMO_CODE = "DEMO20"


def plans_ensure() -> list[Plan]:
    """The demo plans, made once (a plan of the same name is left as it is)."""
    made = []
    for name, days, gb, devices, price, order in PLANS:
        plan, _created = Plan.objects.get_or_create(name=name, defaults={
            "duration_days": days, "traffic_gb": gb, "device_limit": devices, "price_amount": price, "sort_order": order})
        made.append(plan)
    return made


def offers_ensure(*, since: datetime) -> None:
    """A first-purchase discount, a promo code with a limited number of uses, and more cashback
    on the three-month plan; each made once."""
    if not SmartDiscount.objects.filter(title="Welcome 15 %").exists():
        discount_create(kind=SmartDiscount.Kind.FIRST_PURCHASE, percent_bp=1500, title="Welcome 15 %", starts_at=since,
                        source="demo")
    if not SmartDiscount.objects.filter(code=PROMO_CODE).exists():
        discount_create(kind=SmartDiscount.Kind.CODE, percent_bp=2000, code=PROMO_CODE, max_uses=60, title="Spring 20 %",
                        starts_at=since, ends_at=since + timedelta(days=400), source="demo")
    quarterly = Plan.objects.filter(name="Silver 3 months").first()
    if quarterly and not CashbackRule.objects.filter(title="10 % back on 3 months").exists():
        cashback_rule_create(percent_bp=1000, plans=[quarterly], delay_days=3, title="10 % back on 3 months",
                             starts_at=since, source="demo")


class DemoProvisioner(Provisioner):
    """A made-up VPN config for every demo account (the demo has no panel); renewals keep theirs."""

    def provision(self, subscription):
        digest = hashlib.sha256(f"demo-{subscription.pk}".encode()).hexdigest()
        uuid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        return f"vless://{uuid}@de1.demo-vpn.example:443?security=reality&type=tcp#demo-{subscription.pk}"

    def extend(self, subscription):
        previous = subscription.renewed_from
        return previous.config if previous and previous.config else self.provision(subscription)


@contextmanager
def demo_provisioner():
    """Within it, the demo's provisioner delivers every account (through the shop's seam)."""
    previous = provisioning._registered  # the panels app's, put back afterwards
    provisioning.register_provisioner(DemoProvisioner())
    try:
        yield
    finally:
        provisioning.register_provisioner(previous)
