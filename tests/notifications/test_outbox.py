"""The outbox: enqueue (once per dedup key, in the caller's transaction), the shop's messages and
admin alerts through the message port, cancel and resend."""

import pytest
from django.db import transaction

from notifications import services
from notifications.models import Notification, NotificationLog
from tests.factories import CustomerFactory, PaymentFactory
from vpnbot.shop import messaging
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
    customer = CustomerFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notification_enqueue(customer=customer, type="campaign", dedup_key="rolled-back", text="x")
        raise RuntimeError
    assert not Notification.objects.exists()
