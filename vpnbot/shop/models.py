from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
    telegram_id = models.BigIntegerField(unique=True)
    username = models.CharField(max_length=64, blank=True, db_index=True)
    first_name = models.CharField(max_length=128, blank=True)
    last_name = models.CharField(max_length=128, blank=True)
    language = models.CharField(max_length=8, blank=True, help_text="Chosen with /language; empty = from Telegram")
    telegram_language = models.CharField(max_length=16, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text="Empty = the shop's TIME_ZONE")
    birth_month = models.PositiveSmallIntegerField(null=True, blank=True)
    birth_month_set_at = models.DateTimeField(null=True, blank=True)
    referral_code = models.CharField(max_length=16, unique=True)
    referred_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals")
    is_operator = models.BooleanField(default=False, help_text="May use the admin commands in the bot")
    blocked_at = models.DateTimeField(null=True, blank=True, help_text="When the customer blocked the bot")
    balance_amount = models.PositiveBigIntegerField(default=0)
    joined_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance_amount__gte=0), name="customer_balance_not_negative")]

    def __str__(self):
        return f"@{self.username}" if self.username else f"{self.first_name or 'customer'} ({self.telegram_id})"

    @property
    def effective_language(self) -> str:
        if self.language:
            return self.language
        code = (self.telegram_language or "").lower()
        for lang, _name in settings.LANGUAGES:
            if code.startswith(lang):
                return lang
        return settings.LANGUAGE_CODE

    @property
    def tz_name(self) -> str:
        return self.time_zone or settings.TIME_ZONE


class WalletTransaction(models.Model):
    """The append-only wallet ledger; Customer.balance_amount is its running sum."""

    class Reason(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        PURCHASE = "purchase", _("Purchase")
        REFUND = "refund", _("Refund")
        CASHBACK = "cashback", _("Cashback")
        CASHBACK_REVERSAL = "cashback_reversal", _("Cashback reversed")
        REFERRAL = "referral", _("Referral reward")
        ADJUSTMENT = "adjustment", _("Adjustment")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ledger")
    amount = models.BigIntegerField(help_text="Positive credits, negative debits")
    balance_after = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    source = models.CharField(max_length=64, unique=True, help_text="What caused it, e.g. payment:12; unique")
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.amount:+,} ({self.reason})"


class Plan(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    duration_days = models.PositiveIntegerField(default=30)
    traffic_gb = models.PositiveIntegerField(default=0, help_text="0 = unlimited")
    device_limit = models.PositiveSmallIntegerField(default=1)
    price_amount = models.PositiveBigIntegerField()
    is_active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        constraints = [models.CheckConstraint(condition=Q(duration_days__gt=0), name="plan_duration_positive")]

    def __str__(self):
        return self.name


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveSmallIntegerField(default=1)
    list_amount = models.PositiveBigIntegerField()
    discount_amount = models.PositiveBigIntegerField(default=0)
    paid_amount = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    quote = models.JSONField(default=dict, blank=True, help_text="The price breakdown the customer confirmed")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True, db_index=True)
    refunded_amount = models.PositiveBigIntegerField(default=0)
    refunded_at = models.DateTimeField(null=True, blank=True)
    refund_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(refunded_amount__lte=models.F("paid_amount")), name="order_refund_le_paid")
        ]

    def __str__(self):
        return f"order #{self.pk}"


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="subscription")
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    config = models.TextField(blank=True, help_text="The VPN configuration delivered to the customer")
    config_delivered_at = models.DateTimeField(null=True, blank=True)
    renewed_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="renewals")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-expires_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self):
        return f"{self.plan} for {self.customer} until {self.expires_at:%Y-%m-%d}"


class Payment(models.Model):
    """A wallet top-up by bank-card receipt, reviewed by an admin."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    amount = models.PositiveBigIntegerField()
    receipt_file_id = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    reviewer = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    admin_messages = models.JSONField(default=list, blank=True, help_text="[chat_id, message_id] of the review messages")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"payment #{self.pk} ({self.amount:,}, {self.status})"


class ReferralReward(models.Model):
    referrer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="referral_rewards")
    referred = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="referral_reward_given")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="referral_reward")
    amount = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.amount:,} to {self.referrer} for {self.referred}"


class DomainEvent(models.Model):
    """A record of each state change, written in the transaction that made it."""

    name = models.CharField(max_length=40, db_index=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.name


class CheckoutCode(models.Model):
    """A discount code typed for a purchase, kept on the server while the customer looks at
    the confirmation: the Pay button's callback_data (64 bytes) has no room for a 32-character
    code next to the plan, quantity, total and idempotency key. Kept a day at most."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=16)
    code = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "key"], name="shop_checkoutcode_customer_key")]

    def __str__(self):
        return f"{self.customer_id}:{self.key}"
