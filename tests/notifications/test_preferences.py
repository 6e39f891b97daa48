"""Per-customer settings: the row made once (also by two workers at once), quiet hours, the daily
limit, spacing, types turned off, as delivery applies them (Asia/Tehran, frozen clock)."""

import threading
from datetime import time as dtime
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from notifications import services
from notifications.models import Notification, NotificationSettings
from tests.conftest import run_threads
from tests.factories import CustomerFactory
from vpnbot.shop.models import Customer

from .clock import tehran
from .factories import NotificationSettingsFactory

pytestmark = pytest.mark.django_db


def enqueue(customer, key, **kwargs):
    kwargs.setdefault("text", f"message {key}")
    return services.notification_enqueue(customer=customer, type=kwargs.pop("type", "campaign"), dedup_key=key, **kwargs)


@pytest.mark.parametrize("now, expected_end", [
    (tehran(2026, 3, 10, 23, 30), tehran(2026, 3, 11, 7, 0)),   # before midnight: ends tomorrow
    (tehran(2026, 3, 11, 2, 15), tehran(2026, 3, 11, 7, 0)),    # after midnight: ends today
])
def test_quiet_hours_crossing_midnight_defer_to_the_window_end(fake_telegram, now, expected_end):
    settings_row = NotificationSettingsFactory(quiet_start=dtime(23), quiet_end=dtime(7))
    with time_machine.travel(now, tick=False):
        n = enqueue(settings_row.customer, "q")
        result = services.notification_process()
    n.refresh_from_db()
    assert result.deferred == 1 and result.sent == 0
    assert n.status == "pending" and n.scheduled_for == expected_end and n.deferred_reason == "quiet_hours"
    assert fake_telegram.calls_to("sendMessage") == []
    with time_machine.travel(expected_end - timedelta(seconds=1), tick=False):
        assert services.notification_process().sent == 0
    with time_machine.travel(expected_end, tick=False):
        assert services.notification_process().sent == 1


def test_quiet_hours_starting_at_midnight(fake_telegram):
    row = NotificationSettingsFactory(quiet_start=dtime(0), quiet_end=dtime(8))
    with time_machine.travel(tehran(2026, 3, 10, 23, 59), tick=False):
        enqueue(row.customer, "before")
        assert services.notification_process().sent == 1  # 23:59 is outside 00:00-08:00
    with time_machine.travel(tehran(2026, 3, 11, 0, 0), tick=False):
        n = enqueue(row.customer, "at-midnight")
        assert services.notification_process().deferred == 1
    n.refresh_from_db()
    assert n.scheduled_for == tehran(2026, 3, 11, 8, 0)


def test_quiet_hours_are_in_the_customers_own_time_zone(fake_telegram):
    row = NotificationSettingsFactory(quiet_start=dtime(23), quiet_end=dtime(7),
                                      customer=CustomerFactory(time_zone="Europe/Berlin"))
    with time_machine.travel(tehran(2026, 3, 11, 0, 30), tick=False):  # 22:00 in Berlin
        enqueue(row.customer, "berlin")
        assert services.notification_process().sent == 1


def test_transactional_and_urgent_bypass_quiet_hours(fake_telegram, django_capture_on_commit_callbacks):
    row = NotificationSettingsFactory(quiet_start=dtime(22), quiet_end=dtime(8))
    with time_machine.travel(tehran(2026, 3, 11, 3, 0), tick=False), django_capture_on_commit_callbacks(execute=True):
        enqueue(row.customer, "pay", type="payment_approved", text="approved")
        enqueue(row.customer, "urgent", urgent=True)
        enqueue(row.customer, "normal")
    statuses = dict(Notification.objects.values_list("type", "status").filter(urgent=False, transactional=False))
    assert statuses == {"campaign": "pending"}
    assert Notification.objects.filter(status="sent").count() == 2


def test_urgent_bypass_can_be_turned_off(fake_telegram, settings):
    settings.NOTIFICATION_URGENT_BYPASS = False
    row = NotificationSettingsFactory(quiet_start=dtime(22), quiet_end=dtime(8))
    with time_machine.travel(tehran(2026, 3, 11, 3, 0), tick=False):
        enqueue(row.customer, "urgent", urgent=True, scheduled_for=timezone.now())
        Notification.objects.update(scheduled_for=timezone.now())
        result = services.notification_process()
    assert result.deferred == 1


def test_daily_limit_defers_to_the_next_day_in_the_customers_zone(fake_telegram):
    row = NotificationSettingsFactory(daily_limit=2)
    with time_machine.travel(tehran(2026, 3, 10, 23, 0), tick=False):
        for key in "abc":
            enqueue(row.customer, key)
        result = services.notification_process()
        assert (result.sent, result.deferred) == (2, 1)
        enqueue(row.customer, "pay", type="payment_rejected", text="rejected")  # transactional: not limited
        assert services.notification_process().sent == 1
    deferred = Notification.objects.get(status="pending")
    assert deferred.scheduled_for == tehran(2026, 3, 11, 0, 0) and deferred.deferred_reason == "daily_limit"
    # 00:00 in Tehran is 20:30 UTC the day before: the new day counts from local midnight
    with time_machine.travel(tehran(2026, 3, 11, 0, 0), tick=False):
        assert services.notification_process().sent == 1
        enqueue(row.customer, "d")
        assert services.notification_process().sent == 1
        enqueue(row.customer, "e")
        assert services.notification_process().deferred == 1


def test_minimum_spacing_between_messages(fake_telegram):
    row = NotificationSettingsFactory(min_interval_minutes=30)
    with time_machine.travel(tehran(2026, 3, 10, 12, 0), tick=False):
        enqueue(row.customer, "a")
        enqueue(row.customer, "b")
        result = services.notification_process()
    assert (result.sent, result.deferred) == (1, 1)
    assert Notification.objects.get(status="pending").scheduled_for == tehran(2026, 3, 10, 12, 30)


def test_a_type_turned_off_is_not_sent_but_transactional_ones_cannot_be(fake_telegram, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    assert services.settings_toggle_type(customer=customer, type="campaign") is False
    with pytest.raises(services.NotificationError):
        services.settings_toggle_type(customer=customer, type="payment_approved")
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(customer, "c")
        enqueue(customer, "p", type="payment_approved", text="ok")
    services.notification_process()
    assert dict(Notification.objects.values_list("type", "status")) == {"campaign": "cancelled", "payment_approved": "sent"}
    assert services.settings_toggle_type(customer=customer, type="campaign") is True


def test_shop_defaults_apply_without_a_settings_row(fake_telegram, settings):
    settings.NOTIFICATION_DEFAULT_QUIET_HOURS = "22:00-08:00"
    customer = CustomerFactory()
    with time_machine.travel(tehran(2026, 3, 11, 7, 59), tick=False):
        enqueue(customer, "a")
        assert services.notification_process().deferred == 1


def test_auto_notifications_off_cancels_automatic_ones_but_not_payments(fake_telegram, settings, django_capture_on_commit_callbacks):
    settings.ENABLE_AUTO_NOTIFICATIONS = False
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(customer, "low", type="low_balance", context={"balance": 1})
        enqueue(customer, "pay", type="payment_approved", text="ok")
    services.notification_process()
    assert dict(Notification.objects.values_list("type", "status")) == {"low_balance": "cancelled", "payment_approved": "sent"}


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limits", [{"daily_limit": 1}, {"daily_limit": 0, "min_interval_minutes": 30}])
def test_two_workers_never_exceed_the_daily_limit_or_spacing(fake_telegram, settings, limits):
    """Four workers, each with one of the customer's four messages, decide at once: one is
    sent and three wait (before, each worker counted only messages already recorded as
    sent, so several went out)."""
    settings.NOTIFICATION_SEND_THREADS = 1
    for attempt in range(3):
        row = NotificationSettingsFactory(**limits)
        for key in "abcd":
            enqueue(row.customer, f"{attempt}{key}")
        results = run_threads(lambda i: services.notification_process(batch_size=1, max_batches=1), 4)
        assert not [r for r in results if isinstance(r, Exception)], results
        mine = Notification.objects.filter(customer=row.customer)
        assert mine.filter(status="sent").count() == 1, (attempt, list(mine.values_list("status", "deferred_reason")))
        services.notification_process()  # the ones a worker skipped as locked (MariaDB) are decided now
        assert mine.filter(status="sent").count() == 1
        assert mine.filter(status="pending").exclude(deferred_reason="").count() == 3
        assert len(fake_telegram.calls_to("sendMessage", row.customer.telegram_id)) == 1


def test_settings_get_makes_the_row_once():
    customer = CustomerFactory()
    first = services.settings_get(customer=customer)
    assert services.settings_get(customer=customer).pk == first.pk
    assert NotificationSettings.objects.filter(customer=customer).count() == 1


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_row_made_by_another_worker_meanwhile_is_used_not_an_integrity_error():
    """The double tap on first use: worker A has begun its transaction when worker B makes
    the row; A's INSERT then hits the unique customer. Under READ COMMITTED (Django's default
    on MariaDB, and PostgreSQL's) get_or_create's retry SELECT sees B's row; under REPEATABLE
    READ (MariaDB's own default, which a deployment may configure) it read A's old snapshot,
    found nothing and raised IntegrityError. The locking read sees B's row."""
    customer = CustomerFactory()
    a_started, b_done = threading.Event(), threading.Event()

    def worker(i):
        if i == 0:  # A: a transaction already under way when B commits
            if connection.vendor == "mysql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # the next transaction
            with transaction.atomic():
                list(Customer.objects.filter(pk=customer.pk))  # the snapshot starts here
                a_started.set()
                assert b_done.wait(10)
                return services.settings_toggle_type(customer=customer, type="campaign")
        assert a_started.wait(10)  # B
        try:
            return services.settings_get(customer=customer).pk
        finally:
            b_done.set()

    results = run_threads(worker, 2)
    assert results[0] is False, results  # A turned campaigns off on B's row
    assert isinstance(results[1], int), results
    row = NotificationSettings.objects.get(customer=customer)
    assert row.pk == results[1] and row.disabled_types == ["campaign"]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_double_tap_on_first_use_makes_one_row():
    customer = CustomerFactory()
    results = run_threads(lambda i: services.settings_toggle_type(customer=customer, type=("campaign", "new_discount")[i]), 2)
    assert results == [False, False], results
    row = NotificationSettings.objects.get(customer=customer)
    assert row.disabled_types == ["campaign", "new_discount"]
