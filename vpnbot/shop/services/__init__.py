"""The shop's business operations, by subject: customers, wallet, payments, plans, orders,
subscriptions, referrals, traffic (extra traffic packs), trials. Handlers, admin actions, API views and tasks call these.

Re-exported here: every operation callers use (a test patches a name in its submodule, not
here). Display helpers are in vpnbot.shop.formatting, read-only lookups in vpnbot.shop.selectors."""

from .customers import customer_set_language, customer_sync, on_chat_blocked
from .errors import InsufficientBalance, NewLinkTooSoon, QuoteChanged, RiskHeld, ShopError
from .orders import (
    CHECKOUT_CODE_TTL,
    Checkout,
    checkout_code_get,
    checkout_code_keep,
    order_checkout,
    order_place_paid,
    order_refund,
    order_refund_amount,
)
from .payments import (
    Decision,
    payment_approve,
    payment_reject,
    payment_review_send,
    payment_risk_update,
    payment_submit,
    topup_limits,
    topup_parse_amount,
)
from .plans import (
    QUANTITIES,
    check_order_terms,
    plan_check_numbers,
    plan_delete,
    plan_get_active,
    price_quote,
    quantities_for,
    validate_quantity,
)
from .referrals import customer_apply_referral, referral_reward, referral_reward_release
from .subscriptions import (
    subscription_announce_change,
    subscription_deliver_config,
    subscription_expire_due,
    subscription_for_order,
    subscription_new_link,
    subscription_provision,
    subscription_validate_config,
)
from .traffic import TrafficCheckout, traffic_checkout, traffic_pack_get_active, traffic_subscription
from .trials import TrialHeld, trial_days, trial_plan, trial_start, trial_traffic_gb
from .wallet import wallet_apply

__all__ = [
    "CHECKOUT_CODE_TTL", "QUANTITIES", "Checkout", "Decision", "InsufficientBalance", "NewLinkTooSoon",
    "QuoteChanged", "RiskHeld", "ShopError", "TrialHeld",
    "check_order_terms", "checkout_code_get", "checkout_code_keep", "customer_apply_referral",
    "customer_set_language", "customer_sync",
    "on_chat_blocked", "order_checkout", "order_place_paid", "order_refund", "order_refund_amount",
    "payment_approve", "payment_reject", "payment_review_send", "payment_risk_update", "payment_submit",
    "plan_check_numbers", "plan_delete",
    "plan_get_active", "price_quote", "quantities_for", "referral_reward", "referral_reward_release", "subscription_announce_change",
    "subscription_deliver_config", "subscription_expire_due",
    "subscription_for_order", "subscription_new_link", "subscription_provision", "subscription_validate_config",
    "topup_limits", "topup_parse_amount", "validate_quantity", "wallet_apply",
    "TrafficCheckout", "traffic_checkout", "traffic_pack_get_active", "traffic_subscription",
    "trial_days", "trial_plan", "trial_start", "trial_traffic_gb",
]
