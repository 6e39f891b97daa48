from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Notification, NotificationLog
from tests.factories import CustomerFactory, PaymentFactory
from vpnbot.shop import services as shop

pytestmark = pytest.mark.django_db


def test_enqueue_dedups_and_returns_none_the_second_time(fake_telegram):
    customer = CustomerFactory()
    first = services.notification_enqueue(customer=customer, type="campaign", dedup_key="c1", text="Hi")
    second = services.notification_enqueue(customer=customer, type="campaign", dedup_key="c1", text="Hi again")
    assert first is not None and second is None
    assert Notification.objects.count() == 1


def test_unknown_type_is_refused():
    with pytest.raises(ValueError):
        services.notification_enqueue(customer=CustomerFactory(), type="nope", dedup_key="x")


def test_payment_approval_goes_through_the_outbox_and_reaches_telegram(fake_telegram, django_capture_on_commit_callbacks):
    payment = PaymentFactory(customer=CustomerFactory(language="en"), amount=200_000)
    with django_capture_on_commit_callbacks(execute=True):
        shop.payment_approve(payment_id=payment.pk, reviewer="boss")
    n = Notification.objects.get(type="payment_approved")
    assert n.status == "sent" and n.transactional
    assert n.telegram_message_id
    texts = fake_telegram.sent_texts(payment.customer.telegram_id)
    assert len(texts) == 1 and "approved" in texts[0]
    log = NotificationLog.objects.get(notification=n)
    assert log.status == "sent" and log.telegram_message_id == n.telegram_message_id


def test_rejection_carries_the_reason(fake_telegram, django_capture_on_commit_callbacks):
    payment = PaymentFactory(customer=CustomerFactory(language="en"))
    with django_capture_on_commit_callbacks(execute=True):
        shop.payment_reject(payment_id=payment.pk, reviewer="boss", reason="blurry photo")
    assert "blurry photo" in fake_telegram.last_text(payment.customer.telegram_id)
    assert Notification.objects.get(type="payment_rejected").status == "sent"


def test_the_same_event_twice_notifies_once(fake_telegram, django_capture_on_commit_callbacks):
    payment = PaymentFactory(customer=CustomerFactory(language="en"))
    with django_capture_on_commit_callbacks(execute=True):
        shop.payment_approve(payment_id=payment.pk, reviewer="a")
        shop.payment_approve(payment_id=payment.pk, reviewer="b")
    assert len(fake_telegram.sent_texts(payment.customer.telegram_id)) == 1


def test_429_is_retried_after_retry_after_and_nothing_is_lost(fake_telegram, monkeypatch):
    from vpnbot.transport.sender import get_sender

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


def test_admin_alerts_go_to_every_admin_once(fake_telegram, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notification_alert_admins(kind="backup_failed", text="Backup failed", dedup_key="b1") == 2
        assert services.notification_alert_admins(kind="backup_failed", text="Backup failed", dedup_key="b1") == 0
    assert "Backup failed" in fake_telegram.last_text(9001)
    assert "Backup failed" in fake_telegram.last_text(9002)


def test_cancel_and_resend(fake_telegram):
    customer = CustomerFactory()
    n = services.notification_enqueue(customer=customer, type="campaign", dedup_key="x", text="x")
    assert services.notification_cancel(notification_ids=[n.pk]) == 1
    assert services.notification_process().sent == 0
    assert services.notification_resend(notification_ids=[n.pk]) == 1
    assert services.notification_process().sent == 1


def test_shop_kinds_map_to_types_and_unknown_kinds_still_go(fake_telegram, django_capture_on_commit_callbacks):
    from vpnbot.shop import messaging

    customer = CustomerFactory(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        messaging.notify_customer(customer, kind="cashback", dedup_key="order:1", context={"amount": 5000},
                                  text=lambda: "5,000 cashback")
        messaging.notify_customer(customer, kind="new_discount", dedup_key="d:1", context={"title": "Yalda"},
                                  text=lambda: "New: Yalda")
        messaging.notify_customer(customer, kind="something_new", dedup_key="x:1", text=lambda: "Hello there")
    services.notification_process()
    assert dict(Notification.objects.values_list("type", "status")) == {
        "cashback": "sent", "new_discount": "sent", "message": "sent"}
    assert set(fake_telegram.sent_texts(customer.telegram_id)) == {"5,000 cashback", "New: Yalda", "Hello there"}


def test_enqueue_writes_in_the_callers_transaction(fake_telegram):
    from django.db import transaction

    customer = CustomerFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notification_enqueue(customer=customer, type="campaign", dedup_key="rolled-back", text="x")
        raise RuntimeError
    assert not Notification.objects.exists()
