"""Broadcasts: resumed without duplicates after a crash, registered audiences without blocked
customers, paid delivery only when enabled, parallel workers never sending twice."""

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications import selectors, services
from notifications.models import Broadcast, Notification
from notifications.services import delivery
from tests.conftest import run_threads
from tests.factories import CustomerFactory
from vpnbot.shop import audiences
from vpnbot.shop.models import Customer


def _deliveries(fake, text):
    return Counter(c.chat_id for c in fake.calls_to("sendMessage") if c.text == text)


@pytest.mark.django_db
def test_a_broadcast_interrupted_midway_resumes_without_duplicates(fake_telegram):
    customers = CustomerFactory.create_batch(10)
    b = services.broadcast_create(created_by=9001, text="News")
    services.broadcast_start(broadcast_id=b.pk)
    services.notification_process(broadcast_id=b.pk, batch_size=4, max_batches=1)
    # a worker claims three more and dies before sending them
    crashed = delivery._claim(batch_size=3, ids=None, broadcast_id=b.pk)
    assert len(crashed) == 3
    assert services.broadcast_run(broadcast_id=b.pk).sent == 3  # the claimed ones wait for their claim to lapse
    assert Broadcast.objects.get(pk=b.pk).status == "running"
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        services.broadcast_run(broadcast_id=b.pk)
    b.refresh_from_db()
    assert b.status == "done" and b.total == 10
    delivered = _deliveries(fake_telegram, "News")
    assert set(delivered) == {c.telegram_id for c in customers}
    assert set(delivered.values()) == {1}
    with pytest.raises(services.NotificationError):
        services.broadcast_start(broadcast_id=b.pk)  # starting twice does not write recipients twice
    assert Notification.objects.filter(broadcast=b).count() == 10


@pytest.mark.django_db
def test_registered_audiences_and_blocked_customers(fake_telegram):
    vip = CustomerFactory.create_batch(2, first_name="VIP")
    CustomerFactory.create_batch(2)
    CustomerFactory(first_name="VIP", blocked_at=timezone.now())
    audiences.register_audience("test_vip", "VIPs", lambda: Customer.objects.filter(first_name="VIP"))
    b = services.broadcast_create(created_by=9001, text="For VIPs", audience="test_vip")
    assert selectors.broadcast_audience_count(broadcast=b) == 2
    services.broadcast_start(broadcast_id=b.pk)
    services.broadcast_run(broadcast_id=b.pk)
    assert set(_deliveries(fake_telegram, "For VIPs")) == {c.telegram_id for c in vip}
    with pytest.raises(services.NotificationError):
        services.broadcast_create(created_by=1, text="x", audience="nope")
    with pytest.raises(services.NotificationError):
        services.broadcast_create(created_by=1, text="", photo="")


@pytest.mark.django_db
def test_paid_broadcast_sets_allow_paid_broadcast_only_when_enabled(fake_telegram, settings):
    customer = CustomerFactory()
    with pytest.raises(services.NotificationError):
        services.broadcast_create(created_by=9001, text="Fast", paid=True)
    settings.NOTIFICATION_ALLOW_PAID_BROADCAST = True
    b = services.broadcast_create(created_by=9001, text="Fast", paid=True)
    services.broadcast_start(broadcast_id=b.pk)
    services.broadcast_run(broadcast_id=b.pk)
    call = fake_telegram.calls_to("sendMessage", customer.telegram_id)[0]
    assert call.params["allow_paid_broadcast"] is True


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_processors_in_parallel_never_send_the_same_notification(fake_telegram, settings):
    settings.NOTIFICATION_SEND_THREADS = 2  # 4 workers x 2 connections: within the fake server's backlog
    customers = CustomerFactory.create_batch(40)
    for c in customers:
        services.notification_enqueue(customer=c, type="campaign", dedup_key="par", text="Parallel")
    b = services.broadcast_create(created_by=9001, text="Parallel broadcast")
    b = services.broadcast_start(broadcast_id=b.pk)
    assert b.total == 40

    def worker(i):
        if i % 2:
            return services.notification_process(batch_size=5).sent
        return services.broadcast_run(broadcast_id=b.pk).sent + services.notification_process(batch_size=5).sent

    results = run_threads(worker, 4)
    assert all(isinstance(r, int) for r in results), results
    for text in ("Parallel", "Parallel broadcast"):
        delivered = _deliveries(fake_telegram, text)
        assert set(delivered.values()) == {1}, text
    assert len(_deliveries(fake_telegram, "Parallel")) == 40
    assert not Notification.objects.exclude(status="sent").exists()
    assert sum(results) == Notification.objects.filter(status="sent").count() == 40 + b.total


@pytest.mark.django_db
def test_the_every_minute_job_finishes_a_broadcast_and_edits_its_progress_message(fake_telegram, settings):
    """Delivery knows nothing of broadcasts; the hook progress registers refreshes them after each batch."""
    settings.LANGUAGE_CODE = "en"  # the admin 9001 has no customer record: the shop's language
    CustomerFactory.create_batch(3)
    b = services.broadcast_create(created_by=9001, text="Via the beat job")
    services.broadcast_start(broadcast_id=b.pk, progress_chat_id=9001, progress_message_id=77)
    assert services.notification_process().sent == 3
    b.refresh_from_db()
    assert b.status == "done"
    edited = fake_telegram.calls_to("editMessageText", 9001)[-1].params
    assert edited["message_id"] == 77 and "Sent: 3" in edited["text"] and "Remaining: 0" in edited["text"]
    assert edited["reply_markup"] == {"inline_keyboard": []}


@pytest.mark.django_db
def test_a_lost_answer_repeats_that_one_message_and_no_other(fake_telegram):
    """Telegram has no idempotency key: a send whose answer was lost is sent again (it may
    have been delivered). The broadcast repeats exactly that message, nothing else."""
    customers = CustomerFactory.create_batch(6)
    b = services.broadcast_create(created_by=9001, text="Lost answer")
    services.broadcast_start(broadcast_id=b.pk)
    fake_telegram.lose_answer("sendMessage")
    services.broadcast_run(broadcast_id=b.pk)
    delivered = _deliveries(fake_telegram, "Lost answer")
    assert set(delivered) == {c.telegram_id for c in customers}
    assert sorted(delivered.values()) == [1, 1, 1, 1, 1, 2]
    assert Broadcast.objects.get(pk=b.pk).status == "done"
