"""An adversary's review of the refund task (each test failed before its fix)."""

import pytest

from payments import services, tasks
from payments.models import Payment
from tests.payments.ops import stars_payment


@pytest.mark.django_db
def test_a_refund_that_crashes_is_retried_then_told_to_the_admins(customer, settings, monkeypatch, fake_telegram,
                                                                   django_capture_on_commit_callbacks):
    """Not only the provider's refusals: an unexpected error (the database gone for a moment)
    is tried again a bounded number of times, then the admins hear of it, instead of the task
    dying and the refund being forgotten with nobody told."""
    settings.ADMIN_TELEGRAM_IDS = [9001]
    settings.PAYMENTS_MAX_RETRIES = 2
    payment = stars_payment(customer, status=Payment.Status.PAID)
    calls = []

    def crash(**kwargs):
        calls.append(kwargs["payment_id"])
        raise RuntimeError("connection reset with postgres://user:secret@db/x")

    monkeypatch.setattr(services, "payment_refund_to_provider", crash)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.refund_to_provider.delay(payment.pk, "admin:boss")
    assert len(calls) == 3  # the first try and two retries
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.note and "secret" not in payment.note
    alerts = [t for t in fake_telegram.sent_texts(9001) if f"#{payment.pk}" in t and "not refunded" in t]
    assert len(alerts) == 1 and "secret" not in alerts[0]
