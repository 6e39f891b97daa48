"""Per-customer notification settings made on first use, also by two workers at once."""

import threading

import pytest
from django.db import transaction

from notifications import services
from notifications.models import NotificationSettings
from tests.conftest import run_threads
from tests.factories import CustomerFactory


@pytest.mark.django_db
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
    from django.db import connection

    from vpnbot.shop.models import Customer

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
