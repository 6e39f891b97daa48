"""The shop in the Django admin, by subject: customers with their ledger (customers), plans and
traffic packs (catalog), orders with refunds and subscriptions with their configs (orders), card
top-ups with approve and reject (receipts)."""

from . import catalog, orders, receipts  # noqa: F401  (each registers its ModelAdmins)
from .customers import register_customer_panel

__all__ = ["register_customer_panel"]
