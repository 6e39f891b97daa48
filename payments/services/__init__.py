"""The payments' business operations, by subject: a payment's life (core), a banned customer's
payments (freezing), reconciliation and
the daily summary (reconcile), refunds to the provider (refunds). Callers use this package."""

from .core import (
    Applied,
    PaymentsError,
    payment_cancel,
    payment_check,
    payment_confirm,
    payment_credit_held,
    payment_refuse,
    payment_start,
    provider_for,
    timeline_add,
)
from .freezing import payments_freeze, payments_unfreeze
from .reconcile import (
    Reconciled,
    payment_expire,
    payments_reconcile,
    payments_summary,
    payments_summary_send,
    receipt_mirror,
)
from .refunds import on_order_refunded, payment_refund, payment_refund_to_provider, refund_failed

__all__ = [
    "Applied", "PaymentsError", "Reconciled", "on_order_refunded", "payment_cancel", "payment_check",
    "payment_confirm", "payment_credit_held", "payment_expire", "payment_refund", "payment_refund_to_provider",
    "payment_refuse", "payment_start", "payments_freeze", "payments_reconcile", "payments_unfreeze",
    "payments_summary", "payments_summary_send",
    "provider_for", "receipt_mirror", "refund_failed", "timeline_add",
]
