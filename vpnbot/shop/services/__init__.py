"""The shop's business operations, by subject: customers, wallet, payments, plans, orders,
subscriptions, referrals. Handlers, admin actions, API views and tasks call these.

Re-exported here: every name callers use (a test patches a name in its submodule, not here)
and, for callers that still import them from here, formatting's display helpers and the
selectors' read-only lookups."""

from ..formatting import MAX_CONFIG_LENGTH, config_html, days_left, format_date, money
from ..selectors import (
    customer_find,
    customer_is_operator,
    operator_chat_ids,
    plan_list_active,
    subscriptions_for,
    wallet_history,
)
from .customers import customer_set_language, customer_sync, on_chat_blocked
from .errors import InsufficientBalance, QuoteChanged, ShopError
from .orders import (
    CHECKOUT_CODE_TTL,
    Checkout,
    checkout_code_get,
    checkout_code_keep,
    order_checkout,
    order_refund,
    order_refund_amount,
)
from .payments import Decision, payment_approve, payment_reject, payment_review_send, payment_submit, topup_parse_amount
from .plans import QUANTITIES, plan_delete, plan_get_active, price_quote, validate_quantity
from .referrals import customer_apply_referral, referral_reward
from .subscriptions import (
    subscription_deliver_config,
    subscription_expire_due,
    subscription_for_order,
    subscription_provision,
    subscription_validate_config,
)
from .wallet import wallet_apply

__all__ = [
    "CHECKOUT_CODE_TTL", "MAX_CONFIG_LENGTH", "QUANTITIES", "Checkout", "Decision", "InsufficientBalance",
    "QuoteChanged", "ShopError", "checkout_code_get", "checkout_code_keep", "config_html", "customer_apply_referral",
    "customer_find", "customer_is_operator", "customer_set_language", "customer_sync", "days_left", "format_date",
    "money", "on_chat_blocked", "operator_chat_ids", "order_checkout", "order_refund", "order_refund_amount",
    "payment_approve", "payment_reject", "payment_review_send", "payment_submit", "plan_delete", "plan_get_active",
    "plan_list_active", "price_quote", "referral_reward", "subscription_deliver_config", "subscription_expire_due",
    "subscription_for_order", "subscription_provision", "subscription_validate_config", "subscriptions_for",
    "topup_parse_amount", "validate_quantity", "wallet_apply", "wallet_history",
]
