"""The shared bounds (vpnbot.core.bounds): the validators, check(), the arithmetic they make safe,
and an inventory: every number field of the apps is either settable by a person (then it has a
lower and an upper bound that fit its column) or figured by the system (listed here as such)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from vpnbot.core import bounds
from vpnbot.shop.models import Plan
from vpnbot.shop.services import QUANTITIES

APPS = ("shop", "telegram", "discounts", "crm", "notifications", "backups", "payments", "resellers", "antifraud")
NUMBER_FIELDS = (models.IntegerField, models.FloatField, models.DecimalField, models.DurationField)

# A person types these (an operator in the admin, the API or a bot command; a customer in the bot).
SETTABLE = {
    "shop.Customer.birth_month", "shop.Plan.duration_days", "shop.Plan.traffic_gb", "shop.Plan.device_limit",
    "shop.Plan.price_amount", "shop.Plan.price_stars", "shop.Plan.sort_order", "shop.Order.quantity", "shop.Payment.amount",
    "shop.TrafficPack.traffic_gb", "shop.TrafficPack.price_amount", "shop.TrafficPack.sort_order",
    "discounts.SmartDiscount.percent_bp", "discounts.SmartDiscount.fixed_amount", "discounts.SmartDiscount.cap_amount",
    "discounts.SmartDiscount.max_uses", "discounts.SmartDiscount.per_customer_limit", "discounts.SmartDiscount.priority",
    "discounts.CashbackRule.percent_bp", "discounts.CashbackRule.fixed_amount", "discounts.CashbackRule.cap_amount",
    "discounts.CashbackRule.min_amount", "discounts.CashbackRule.delay_days",
    "crm.PersonalizedOffer.percent_bp", "crm.Campaign.offer_percent_bp", "crm.Campaign.offer_valid_hours",
    "crm.Campaign.conversion_days",
    "notifications.NotificationSettings.daily_limit", "notifications.NotificationSettings.min_interval_minutes",
    "shop.Customer.credit_limit_amount", "resellers.Reseller.discount_bp", "resellers.Reseller.markup_bp",
    "resellers.Reseller.commission_bp", "resellers.Reseller.floor_bp", "resellers.Reseller.daily_account_limit",
    "resellers.ResellerPrice.price_amount", "resellers.Batch.quantity", "resellers.Batch.periods",
    "antifraud.RiskRule.score",
    "notifications.ScheduledMessage.interval", "notifications.ScheduledMessage.month_day",
    "notifications.ScheduledMessage.count", "notifications.ScheduledMessage.operator_chat_id",
}

# Counted, summed or copied by the system: ids, counters, figures of a computation.
COMPUTED = {
    "shop.Customer.telegram_id", "shop.Customer.balance_amount", "shop.WalletTransaction.amount",
    "shop.WalletTransaction.balance_after", "shop.Order.list_amount", "shop.Order.discount_amount",
    "shop.Order.paid_amount", "shop.Order.refunded_amount", "shop.ReferralReward.amount",
    "shop.TrafficPurchase.traffic_gb", "shop.TrafficPurchase.amount", "shop.Payment.risk_score",
    "payments.Payment.risk_score",
    "antifraud.RiskCase.subject_id", "antifraud.RiskCase.score", "antifraud.RiskCase.amount", "antifraud.Ban.telegram_id",
    "antifraud.ReceiptFingerprint.band0", "antifraud.ReceiptFingerprint.band1", "antifraud.ReceiptFingerprint.band2",
    "antifraud.ReceiptFingerprint.band3",
    "telegram.TelegramUpdate.update_id", "telegram.TelegramUpdate.chat_id", "telegram.TelegramUpdate.user_id",
    "telegram.TelegramUpdate.attempts", "telegram.ChatState.user_id",
    "discounts.SmartDiscount.used_count", "discounts.DiscountUsage.amount", "discounts.CashbackTransaction.amount",
    "discounts.CashbackTransaction.reversed_amount", "discounts.CashbackTransaction.unrecovered_amount",
    "discounts.UserDiscountProfile.lifetime_spend_amount", "discounts.UserDiscountProfile.total_saved_amount",
    "discounts.UserDiscountProfile.cashback_earned_amount", "discounts.UserDiscountProfile.paid_orders",
    "crm.UserActivity.amount", "crm.UserInsight.value", "crm.PersonalizedOffer.episode", "crm.PersonalizedOffer.order_id",
    "crm.CampaignRecipient.notification_id",
    "notifications.Broadcast.created_by", "notifications.Broadcast.total", "notifications.Broadcast.progress_chat_id",
    "notifications.Broadcast.progress_message_id", "notifications.Notification.chat_id",
    "notifications.Notification.object_id", "notifications.Notification.priority",
    "notifications.Notification.deferred_count", "notifications.Notification.attempts",
    "notifications.Notification.telegram_message_id", "notifications.NotificationLog.attempt",
    "notifications.NotificationLog.telegram_message_id", "notifications.NotificationLog.duration_ms",
    "notifications.ScheduledOccurrence.recipients", "notifications.ScheduledBatch.recipients",
    "notifications.ScheduledPin.chat_id", "notifications.ScheduledPin.telegram_message_id",
    "notifications.ScheduledPin.attempts",
    "backups.Backup.size_bytes", "backups.Backup.duration_ms", "backups.Backup.telegram_parts",
    # an online payment's amount is the top-up typed (checked against the top-up limits) or an order's total
    "payments.Payment.amount", "payments.Payment.provider_amount", "payments.Payment.received_amount",
    "payments.Payment.quantity", "payments.Payment.expected_total",
    # a reseller purchase's prices and a commission are figured from the reseller's terms
    "resellers.Batch.unit_amount", "resellers.Batch.total_amount", "resellers.Commission.amount",
    "resellers.Commission.reversed_amount", "resellers.Commission.unrecovered_amount",
}
# Whole models the system writes (the CRM's profiles and its recompute's rows).
COMPUTED_MODELS = {"crm.UserProfile", "crm.ProfileStage", "crm.RecomputeRun"}


def number_fields():
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, NUMBER_FIELDS) and not field.primary_key and not field.is_relation:
                    yield f"{label}.{model.__name__}.{field.name}", model, field


def declared_bounds(field) -> tuple[int | None, int | None]:
    """The lower and upper bound the field declares itself (not those Django adds per database)."""
    low = high = None
    for validator in field._validators:
        if isinstance(validator, MinValueValidator):
            low = validator.limit_value if low is None else max(low, validator.limit_value)
        if isinstance(validator, MaxValueValidator):
            high = validator.limit_value if high is None else min(high, validator.limit_value)
    return low, high


def test_every_number_field_is_settable_with_bounds_or_computed():
    unknown = []
    for name, _model, _field in number_fields():
        model_name = name.rsplit(".", 1)[0]
        if name not in SETTABLE and name not in COMPUTED and model_name not in COMPUTED_MODELS:
            unknown.append(name)
    assert not unknown, f"say whether a person sets these (then bound them) or the system: {unknown}"
    assert not SETTABLE & COMPUTED


@pytest.mark.parametrize("name", sorted(SETTABLE))
def test_a_settable_field_has_a_sane_lower_and_upper_bound(name):
    label, model_name, field_name = name.split(".")
    field = apps.get_model(label, model_name)._meta.get_field(field_name)
    low, high = declared_bounds(field)
    assert low is not None and high is not None and low <= high, name
    column = {"SmallIntegerField": 2**15, "PositiveSmallIntegerField": 2**15, "IntegerField": 2**31,
              "PositiveIntegerField": 2**31, "BigIntegerField": 2**63, "PositiveBigIntegerField": 2**63}
    size = column[field.get_internal_type()]
    assert -size <= low and high < size, f"{name}: {low}..{high} does not fit its column"


def test_the_bounds_chosen_for_plans():
    bounds_of = {f: declared_bounds(Plan._meta.get_field(f)) for f in
                 ("duration_days", "traffic_gb", "device_limit", "price_amount", "sort_order")}
    assert bounds_of == {"duration_days": (1, bounds.MAX_DAYS), "traffic_gb": (0, bounds.MAX_TRAFFIC_GB),
                         "device_limit": (1, bounds.MAX_DEVICES), "price_amount": (0, bounds.MAX_AMOUNT),
                         "sort_order": (-bounds.MAX_RANK, bounds.MAX_RANK)}


def test_between_amount_and_percent_are_inclusive_validators():
    low, high = bounds.between(1, 12)
    low(1), high(12)
    with pytest.raises(ValidationError):
        low(0)
    with pytest.raises(ValidationError):
        high(13)
    assert [v.limit_value for v in bounds.amount()] == [0, bounds.MAX_AMOUNT]
    assert [v.limit_value for v in bounds.percent_bp(1)] == [1, bounds.BASIS_POINTS]


def test_check_names_every_field_out_of_range_and_only_those_asked():
    plan = Plan(name="x", duration_days=999_999_999, price_amount=10**30, traffic_gb=0, device_limit=1)
    with pytest.raises(ValidationError) as caught:
        bounds.check(plan)
    assert {"duration_days", "price_amount"} <= set(caught.value.message_dict)
    with pytest.raises(ValidationError) as caught:
        bounds.check(plan, "duration_days")
    assert set(caught.value.message_dict) == {"duration_days"}
    bounds.check(Plan(name="x", duration_days=30, price_amount=1000), "duration_days", "price_amount")


def test_the_bounds_keep_order_arithmetic_inside_dates_and_64_bit_money():
    # the longest order, on top of the furthest a subscription may run ahead, from a far future now
    now = datetime(2200, 1, 1, tzinfo=UTC)
    assert now + timedelta(days=bounds.MAX_AHEAD_DAYS + bounds.MAX_ORDER_DAYS) < datetime(9999, 1, 1, tzinfo=UTC)
    assert bounds.MAX_DAYS <= bounds.MAX_ORDER_DAYS < bounds.MAX_DAYS * max(QUANTITIES)  # so the order cap matters
    assert 365 * max(QUANTITIES) <= bounds.MAX_ORDER_DAYS  # twelve yearly periods still sell
    assert bounds.MAX_AMOUNT * max(QUANTITIES) < 2**63  # a list price fits a BigIntegerField
    assert bounds.MAX_AMOUNT * bounds.BASIS_POINTS < 2**63  # percentage math on ints stays exact in SQL too
