"""The scans: expiry reminders at 3 days, 1 day and the end, each once and set-based; none for a
renewed subscription or a blocked customer; low-balance warnings at most once per N days."""

from datetime import timedelta

import pytest

from notifications import services
from notifications.models import Notification
from tests.factories import CustomerFactory, PlanFactory, SubscriptionFactory
from vpnbot.shop import services as shop

from .clock import T0, at

pytestmark = pytest.mark.django_db


def test_expiry_reminders_fire_at_3_days_1_day_and_expiry_each_once(fake_telegram):
    customer = CustomerFactory(language="en")
    sub = SubscriptionFactory(customer=customer, starts_at=T0 - timedelta(days=27), expires_at=T0 + timedelta(days=3, hours=12))
    timeline = []
    for hours in range(0, 24 * 5, 6):  # the scan every 6 h for five days
        with at(hours):
            services.notification_scan_expiries()
            services.notification_process()
            if hours == 24 * 4:
                shop.subscription_expire_due()  # the shop's event must not add a second "expired"
    sent = Notification.objects.filter(status="sent").order_by("sent_at")
    for n in sent:
        timeline.append((n.type, (n.sent_at - T0).total_seconds() / 3600))
    assert timeline == [("service_expiring", 12.0), ("service_expiring", 60.0), ("service_expired", 84.0)]
    texts = fake_telegram.sent_texts(customer.telegram_id)
    assert "3 day(s)" in texts[0] and "1 day(s)" in texts[1] and "expired" in texts[2]
    assert sub.plan.name in texts[0]
    with at(200):
        assert services.notification_scan_expiries() == 0


def test_scan_rerun_creates_nothing_and_is_set_based(fake_telegram):
    plan = PlanFactory()
    for i in range(30):
        SubscriptionFactory(plan=plan, starts_at=T0 - timedelta(days=10), expires_at=T0 + timedelta(hours=i * 4))
    with at(0):
        created = services.notification_scan_expiries()
        assert services.notification_scan_expiries() == 0
    # (0, 24 h]: 1 day (6); (24 h, 72 h]: 3 days (12); the one ending exactly now: expired (1)
    assert created == Notification.objects.count() == 19
    assert Notification.objects.filter(dedup_key__contains=":1d:").count() == 6
    assert Notification.objects.filter(type="service_expired").count() == 1


def test_a_renewed_subscription_gets_no_reminder(fake_telegram):
    sub = SubscriptionFactory(starts_at=T0 - timedelta(days=28), expires_at=T0 + timedelta(days=2))
    with at(0):
        services.notification_scan_expiries()
        SubscriptionFactory(customer=sub.customer, plan=sub.plan, renewed_from=sub, starts_at=sub.expires_at,
                            expires_at=sub.expires_at + timedelta(days=30))
        result = services.notification_process()
    assert result.cancelled == 1 and result.sent == 0
    with at(1):
        assert services.notification_scan_expiries() == 0


def test_blocked_customers_and_disabled_scans(fake_telegram, settings):
    SubscriptionFactory(customer=CustomerFactory(blocked_at=T0), expires_at=T0 + timedelta(days=1))
    with at(0):
        assert services.notification_scan_expiries() == 0
    SubscriptionFactory(expires_at=T0 + timedelta(days=1))
    settings.ENABLE_AUTO_NOTIFICATIONS = False
    with at(0):
        assert services.notification_scan_expiries() == 0
        assert services.notification_scan_wallets() == 0


def test_low_balance_below_threshold_or_renewal_price_at_most_once_per_n_days(fake_telegram, settings):
    settings.LOW_BALANCE_THRESHOLD = 50_000
    settings.NOTIFICATION_LOW_BALANCE_EVERY_DAYS = 7
    cheap, pricey = PlanFactory(price_amount=30_000), PlanFactory(price_amount=300_000)
    poor = CustomerFactory.with_balance(10_000, language="en")
    below_price = CustomerFactory.with_balance(200_000)
    rich = CustomerFactory.with_balance(100_000)
    no_service = CustomerFactory()
    with at(0):
        SubscriptionFactory(customer=poor, plan=cheap)
        SubscriptionFactory(customer=below_price, plan=pricey)
        SubscriptionFactory(customer=rich, plan=cheap)
        assert services.notification_scan_wallets() == 2
        assert services.notification_scan_wallets() == 0
        services.notification_process()
    got = set(Notification.objects.filter(type="low_balance").values_list("customer_id", flat=True))
    assert got == {poor.pk, below_price.pk} and no_service.pk not in got
    assert "10,000" in fake_telegram.last_text(poor.telegram_id)
    with at(24 * 6):
        assert services.notification_scan_wallets() == 0
    with at(24 * 7 + 1):
        assert services.notification_scan_wallets() == 2
