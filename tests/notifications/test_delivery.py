"""Delivery through the fake Telegram server: 429 retry_after, 403 (the customer blocked the bot),
errors retried with backoff, text that is not valid HTML sent as plain text."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from tests.factories import CustomerFactory
from vpnbot.transport.sender import get_sender

pytestmark = pytest.mark.django_db


def test_429_is_retried_after_retry_after_and_nothing_is_lost(fake_telegram, monkeypatch):
    monkeypatch.setattr(get_sender(), "max_inline_retry_after", 0)  # a long retry_after comes back to us
    customer = CustomerFactory()
    n = services.notification_enqueue(customer=customer, type="campaign", dedup_key="r", text="Hello")
    fake_telegram.fail_next("sendMessage", status=429, retry_after=7)
    start = timezone.now()
    result = services.notification_process()
    n.refresh_from_db()
    assert result.retried == 1 and n.status == "pending"
    assert n.scheduled_for >= start + timedelta(seconds=7)
    assert services.notification_process().sent == 0  # not due yet
    Notification.objects.filter(pk=n.pk).update(scheduled_for=timezone.now())
    assert services.notification_process().sent == 1
    n.refresh_from_db()
    assert n.status == "sent" and n.attempts == 1
    assert list(n.logs.order_by("id").values_list("status", flat=True)) == ["retry_later", "sent"]
    assert len(fake_telegram.calls_to("sendMessage", customer.telegram_id)) == 2


def test_403_marks_the_customer_and_nothing_more_is_sent(fake_telegram):
    customer = CustomerFactory()
    first = services.notification_enqueue(customer=customer, type="campaign", dedup_key="a", text="One")
    later = services.notification_enqueue(customer=customer, type="campaign", dedup_key="b", text="Two",
                                          scheduled_for=timezone.now() + timedelta(minutes=5))
    fake_telegram.block(customer.telegram_id)
    services.notification_process()
    customer.refresh_from_db()
    first.refresh_from_db()
    later.refresh_from_db()
    assert customer.blocked_at is not None
    assert first.status == "blocked" and later.status == "cancelled"
    Notification.objects.filter(pk=later.pk).update(scheduled_for=timezone.now())
    services.notification_enqueue(customer=customer, type="campaign", dedup_key="c", text="Three")
    services.notification_process()
    assert len(fake_telegram.calls_to("sendMessage", customer.telegram_id)) == 1
    assert Notification.objects.get(dedup_key__endswith=":c").status == "blocked"


def test_errors_retry_with_backoff_then_fail_visibly(fake_telegram, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    customer = CustomerFactory()
    n = services.notification_enqueue(customer=customer, type="campaign", dedup_key="e", text="x")
    # each attempt is a send that the sender itself retries TELEGRAM_MAX_RETRIES times
    fake_telegram.fail_next("sendMessage", status=500, description="Internal", times=3 * (1 + settings.TELEGRAM_MAX_RETRIES))
    delays = []
    for _ in range(3):
        before = timezone.now()
        services.notification_process()
        n.refresh_from_db()
        delays.append((n.scheduled_for - before).total_seconds())
        Notification.objects.filter(pk=n.pk).update(scheduled_for=timezone.now())
    n.refresh_from_db()
    assert n.status == "failed" and n.attempts == 3 and "Internal" in n.last_error
    assert 55 < delays[0] < 65 and 115 < delays[1] < 125  # 60 s, then 120 s
    assert n.logs.filter(status="error").count() == 3


def test_invalid_html_falls_back_to_plain_text(fake_telegram):
    customer = CustomerFactory()
    services.notification_enqueue(customer=customer, type="campaign", dedup_key="h", text="a < b")
    fake_telegram.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities")
    assert services.notification_process().sent == 1
    calls = fake_telegram.calls_to("sendMessage", customer.telegram_id)
    assert calls[-1].params.get("parse_mode") is None
