"""Notification types: which exist, which are transactional or automatic, their placeholders
and the default text shipped for each (a NotificationTemplate row overrides it)."""

from __future__ import annotations

import string

from django.utils.translation import gettext_lazy as _

SERVICE_EXPIRING = "service_expiring"
SERVICE_EXPIRED = "service_expired"
LOW_BALANCE = "low_balance"
PAYMENT_APPROVED = "payment_approved"
PAYMENT_REJECTED = "payment_rejected"
NEW_DISCOUNT = "new_discount"
CASHBACK = "cashback"
REFERRAL_REWARD = "referral_reward"
TRAFFIC_WARNING = "traffic_warning"
CONFIG_DELIVERED = "config_delivered"
ORDER_REFUNDED = "order_refunded"
CAMPAIGN = "campaign"
BROADCAST = "broadcast"
ADMIN_ALERT = "admin_alert"
MESSAGE = "message"

CHOICES = [
    (SERVICE_EXPIRING, _("Service expiring")),
    (SERVICE_EXPIRED, _("Service expired")),
    (LOW_BALANCE, _("Low wallet balance")),
    (PAYMENT_APPROVED, _("Payment approved")),
    (PAYMENT_REJECTED, _("Payment rejected")),
    (NEW_DISCOUNT, _("New discount")),
    (CASHBACK, _("Cashback credited")),
    (REFERRAL_REWARD, _("Referral reward")),
    (TRAFFIC_WARNING, _("Traffic running out")),
    (CONFIG_DELIVERED, _("Config delivered")),
    (ORDER_REFUNDED, _("Order refunded")),
    (CAMPAIGN, _("Campaign message")),
    (BROADCAST, _("Broadcast")),
    (ADMIN_ALERT, _("Admin alert")),
    (MESSAGE, _("Shop message")),
]
ALL = [code for code, _label in CHOICES]
LABELS = dict(CHOICES)

# Cannot be turned off by the customer; bypass quiet hours, the daily limit and spacing.
TRANSACTIONAL = frozenset({PAYMENT_APPROVED, PAYMENT_REJECTED, REFERRAL_REWARD, CONFIG_DELIVERED,
                           ORDER_REFUNDED, ADMIN_ALERT, MESSAGE})
# Created by the system on its own; ENABLE_AUTO_NOTIFICATIONS=false stops them.
AUTOMATIC = frozenset({SERVICE_EXPIRING, SERVICE_EXPIRED, TRAFFIC_WARNING, LOW_BALANCE, NEW_DISCOUNT})
# What a customer may switch on or off in /notification_settings.
OPTIONAL = [SERVICE_EXPIRING, SERVICE_EXPIRED, TRAFFIC_WARNING, LOW_BALANCE, NEW_DISCOUNT, CASHBACK, CAMPAIGN, BROADCAST]

# The shop's (and discounts') message kinds -> our types.
KIND_TO_TYPE = {
    "payment_approved": PAYMENT_APPROVED, "payment_rejected": PAYMENT_REJECTED,
    "referral_reward": REFERRAL_REWARD, "config_delivered": CONFIG_DELIVERED,
    "order_refunded": ORDER_REFUNDED, "cashback": CASHBACK, "new_discount": NEW_DISCOUNT,
    "traffic_warning": TRAFFIC_WARNING,
}

COMMON_PLACEHOLDERS = frozenset({"first_name", "username"})
PLACEHOLDERS: dict[str, frozenset] = {
    SERVICE_EXPIRING: frozenset({"plan", "expires_at", "days_left"}),
    SERVICE_EXPIRED: frozenset({"plan", "expires_at"}),
    LOW_BALANCE: frozenset({"balance", "threshold", "renewal_price"}),
    PAYMENT_APPROVED: frozenset({"amount", "balance", "payment_id"}),
    PAYMENT_REJECTED: frozenset({"amount", "reason", "payment_id"}),
    NEW_DISCOUNT: frozenset({"title", "description", "percent", "amount", "code", "ends_at"}),
    CASHBACK: frozenset({"amount", "balance", "order_id"}),
    REFERRAL_REWARD: frozenset({"amount"}),
    TRAFFIC_WARNING: frozenset({"percent", "plan", "left_gb"}),
    CONFIG_DELIVERED: frozenset({"plan", "expires_at", "config"}),
    ORDER_REFUNDED: frozenset({"amount", "order_id", "reason"}),
    CAMPAIGN: frozenset({"text", "title"}),
    BROADCAST: frozenset({"text"}),
    ADMIN_ALERT: frozenset({"text", "kind"}),
    MESSAGE: frozenset({"text"}),
}
MONEY_KEYS = frozenset({"amount", "balance", "threshold", "renewal_price"})
DATE_KEYS = frozenset({"expires_at", "ends_at"})

DEFAULTS = {
    SERVICE_EXPIRING: _("⏳ Your {plan} service expires in {days_left} day(s), on {expires_at}. Renew with /buy to stay connected."),
    SERVICE_EXPIRED: _("⌛️ Your {plan} service expired on {expires_at}. Renew it with /buy."),
    LOW_BALANCE: _("💰 Your wallet balance is low: {balance}. Renewing your plan costs {renewal_price}. Top up with /topup."),
    PAYMENT_APPROVED: _("✅ Your top-up of {amount} was approved. Wallet balance: {balance}."),
    PAYMENT_REJECTED: _("❌ Your top-up of {amount} was rejected.\nReason: {reason}"),
    NEW_DISCOUNT: _("🎉 A new discount for you: {title} {description}"),
    CASHBACK: _("💸 {amount} cashback was added to your wallet. Balance: {balance}."),
    REFERRAL_REWARD: _("🎁 A friend you invited made their first purchase: {amount} was added to your wallet."),
    TRAFFIC_WARNING: _("📶 You have used {percent}% of the traffic of your {plan} service ({left_gb} GB left). "
                       "Renew or buy extra traffic with /my_services."),
    CONFIG_DELIVERED: _("🔑 Your {plan} service is ready until {expires_at}.\nYour config:\n<code>{config}</code>"),
    ORDER_REFUNDED: _("↩️ Order #{order_id} was refunded: {amount} went back to your wallet.\nReason: {reason}"),
    CAMPAIGN: _("{text}"),
    BROADCAST: _("{text}"),
    ADMIN_ALERT: _("⚠️ {text}"),
    MESSAGE: _("{text}"),
}


class TemplateError(ValueError):
    pass


def placeholders_in(body: str) -> list[str]:
    """The placeholder names used in a template body; raises TemplateError on bad syntax."""
    names = []
    try:
        for _literal, field, _spec, _conv in string.Formatter().parse(body):
            if field is None:
                continue
            if field == "" or not field.isidentifier():
                raise TemplateError(f"invalid placeholder {{{field}}}")
            names.append(field)
    except ValueError as exc:
        raise TemplateError(str(exc)) from None
    return names


def validate_template(type_: str, body: str) -> None:
    """Refuse unknown placeholders (and format specs/conversions) for a type."""
    if type_ not in PLACEHOLDERS:
        raise TemplateError(f"unknown notification type {type_!r}")
    allowed = PLACEHOLDERS[type_] | COMMON_PLACEHOLDERS
    try:
        for _literal, field, spec, conv in string.Formatter().parse(body):
            if field is None:
                continue
            if spec or conv:
                raise TemplateError(f"placeholder {{{field}}} may not use formatting")
    except ValueError as exc:
        raise TemplateError(str(exc)) from None
    unknown = sorted(set(placeholders_in(body)) - allowed)
    if unknown:
        raise TemplateError("unknown placeholder(s): " + ", ".join("{" + n + "}" for n in unknown)
                            + "; allowed: " + ", ".join("{" + n + "}" for n in sorted(allowed)))


def sample_context(type_: str) -> dict:
    """Values for a template preview."""
    sample = {"first_name": "Sara", "username": "sara", "plan": "Gold 30", "expires_at": "2026-12-01T12:00:00+00:00",
              "days_left": 3, "balance": 25_000, "threshold": 50_000, "renewal_price": 120_000, "amount": 200_000,
              "payment_id": 42, "reason": "The receipt is unreadable", "title": "Yalda night", "description": "20% off",
              "percent": 20, "code": "YALDA", "ends_at": "2026-12-21T20:30:00+00:00", "order_id": 17,
              "config": "vless://example", "text": "Hello!", "kind": "backup_failed", "left_gb": 4.5}
    return {k: v for k, v in sample.items() if k in PLACEHOLDERS.get(type_, ()) | COMMON_PLACEHOLDERS}
