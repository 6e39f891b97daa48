"""The same receipt photo sent by two customers at the same moment (PostgreSQL / MariaDB;
skipped on SQLite): the receipt that commits second is held as a duplicate of the other,
whichever it is; the first is not."""

import time

import pytest
from django.db import transaction
from django.utils import timezone

from tests.antifraud.conftest import submit
from tests.conftest import run_threads
from tests.factories import CustomerFactory
from vpnbot.shop.models import Payment

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("pauses", [(0.0, 0.0), (0.4, 0.0), (0.0, 0.4)], ids=["together", "first-slow", "second-slow"])
def test_the_same_photo_from_two_customers_at_once_holds_the_one_that_commits_second(pauses, fake_telegram):
    customers = [CustomerFactory(joined_at=timezone.now() - timezone.timedelta(days=30)) for _i in range(2)]
    committed: dict[int, float] = {}

    def send(i):
        with transaction.atomic():
            transaction.on_commit(lambda: committed.__setitem__(i, time.monotonic()))  # first: runs at the commit
            payment = submit(customers[i], unique_id="AQAD-same-photo")
            time.sleep(pauses[i])  # the handler's transaction still open: its receipt not yet committed
        return payment.pk

    ids = run_threads(send, 2)
    assert all(isinstance(pk, int) for pk in ids), ids
    payments = [Payment.objects.get(pk=pk) for pk in ids]
    later = max((0, 1), key=lambda i: committed[i])
    earlier = 1 - later
    assert (payments[earlier].risk_action, payments[earlier].risk_score) == ("allow", 0)
    assert payments[later].risk_action == "hold"
    assert payments[later].risk_reasons == [f"same photo as payment #{payments[earlier].pk} by another customer"]
