"""Read-only queries of the payments: what a customer may see of their own payments."""

from __future__ import annotations

from .models import Payment
from .providers import Asked


def payment_of_customer(*, customer_id: int, payment_id: int) -> Payment | None:
    """The customer's own payment, else None (someone else's is as unknown as a missing one)."""
    return Payment.objects.filter(pk=payment_id, customer_id=customer_id).first()


def asked_text(payment: Payment) -> str:
    """What the customer was asked to pay at the provider, e.g. "120 XTR"."""
    return Asked(payment.provider_amount, payment.currency).text()
