"""The shop's tables: customers, the wallet ledger, plans, orders, subscriptions, receipt
top-ups, referral rewards, domain events and the discount codes kept for a confirmation."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vpnbot.core import bounds


class Customer(models.Model):
    telegram_id = models.BigIntegerField(_("Telegram ID"), unique=True)
    username = models.CharField(_("username"), max_length=64, blank=True, db_index=True)
    first_name = models.CharField(_("first name"), max_length=128, blank=True)
    last_name = models.CharField(_("last name"), max_length=128, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True,
                                help_text=_("Chosen with /language; empty = from Telegram"))
    telegram_language = models.CharField(_("Telegram app language"), max_length=16, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, help_text=_("Empty = the shop's TIME_ZONE"))
    birth_month = models.PositiveSmallIntegerField(_("birth month"), null=True, blank=True,
                                                   validators=bounds.between(1, 12))
    birth_month_set_at = models.DateTimeField(_("birth month set at"), null=True, blank=True)
    referral_code = models.CharField(_("referral code"), max_length=16, unique=True)
    referred_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals",
                                    verbose_name=_("invited by"))
    is_operator = models.BooleanField(_("operator"), default=False, help_text=_("May use the admin commands in the bot"))
    blocked_at = models.DateTimeField(_("blocked the bot at"), null=True, blank=True,
                                      help_text=_("When the customer blocked the bot"))
    balance_amount = models.BigIntegerField(_("wallet balance"), default=0,
                                            help_text=_("Below zero only within the credit limit"))
    credit_limit_amount = models.PositiveBigIntegerField(
        _("credit limit"), default=0, validators=bounds.amount(),
        help_text=_("How far below zero the wallet may go for purchases that allow credit (a reseller's)"))
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # the limit cast to a signed integer: MariaDB computes -(BIGINT UNSIGNED) as unsigned and fails
        constraints = [models.CheckConstraint(
            condition=Q(balance_amount__gte=-Cast("credit_limit_amount", models.BigIntegerField())),
            name="customer_balance_within_credit")]

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
        TRAFFIC = "traffic", _("Extra traffic")
        COMMISSION = "commission", _("Reseller commission")
        COMMISSION_REVERSAL = "commission_reversal", _("Reseller commission reversed")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ledger", verbose_name=_("customer"))
    amount = models.BigIntegerField(_("amount"), help_text=_("Positive credits, negative debits"))
    balance_after = models.BigIntegerField(_("balance after"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    source = models.CharField(_("source"), max_length=64, unique=True, help_text=_("What caused it, e.g. payment:12; unique"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("wallet transaction")
        verbose_name_plural = _("wallet transactions")
        ordering = ["-id"]
        # a customer's ledger by time, its amounts in the index (PostgreSQL's INCLUDE): the
        # reports' per-customer sums (reconciliation, wallets at a past date) read the index only
        indexes = [models.Index(fields=["customer", "created_at"], include=["amount"], name="shop_ledger_customer_time")]

    def __str__(self):
        return f"{self.amount:+,} ({self.reason})"


class Plan(models.Model):
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    duration_days = models.PositiveIntegerField(_("duration (days)"), default=30,
                                                validators=bounds.between(1, bounds.MAX_DAYS))
    traffic_gb = models.PositiveIntegerField(_("traffic (GB)"), default=0, help_text=_("0 = unlimited"),
                                             validators=bounds.between(0, bounds.MAX_TRAFFIC_GB))
    device_limit = models.PositiveSmallIntegerField(_("devices"), default=1, validators=bounds.between(1, bounds.MAX_DEVICES))
    price_amount = models.PositiveBigIntegerField(_("price"), validators=bounds.amount())
    price_stars = models.PositiveIntegerField(
        _("price in Telegram Stars"), null=True, blank=True, validators=bounds.between(1, 100_000),
        help_text=_("Per period; empty = converted from the price with STARS_PER_UNIT"))
    is_active = models.BooleanField(_("on sale"), default=True)
    traffic_on_renewal = models.CharField(
        _("traffic on renewal"), max_length=5, default="reset",
        choices=[("reset", _("starts again from zero")), ("add", _("is added to what is left"))],
        help_text=_("When an account on a panel is renewed with this plan"))
    sort_order = models.IntegerField(_("sort order"), default=0, validators=bounds.between(-bounds.MAX_RANK, bounds.MAX_RANK))

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
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

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer"))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="orders", verbose_name=_("plan"))
    quantity = models.PositiveSmallIntegerField(_("periods"), default=1, validators=bounds.between(1, bounds.MAX_QUANTITY))
    list_amount = models.PositiveBigIntegerField(_("list price"))
    discount_amount = models.PositiveBigIntegerField(_("discount"), default=0)
    paid_amount = models.PositiveBigIntegerField(_("amount paid"), default=0)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    quote = models.JSONField(_("price breakdown"), default=dict, blank=True,
                             help_text=_("The price breakdown the customer confirmed"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, db_index=True)
    refunded_amount = models.PositiveBigIntegerField(_("amount refunded"), default=0)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    refund_reason = models.CharField(_("refund reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]
        permissions = [("refund_order", _("Can refund orders to the wallet"))]
        # by customer and payment time: a customer's earlier or later purchases (the reports'
        # new buyers, renewals and churn)
        indexes = [models.Index(fields=["customer", "status"]),
                   models.Index(fields=["customer", "paid_at"], name="shop_order_customer_paid")]
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

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions",
                                 verbose_name=_("customer"))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan"))
    order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="subscription",
                                 verbose_name=_("order"))
    starts_at = models.DateTimeField(_("starts at"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    config = models.TextField(_("VPN config"), blank=True, help_text=_("The VPN configuration delivered to the customer"))
    config_delivered_at = models.DateTimeField(_("config delivered at"), null=True, blank=True)
    renewed_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="renewals",
                                     verbose_name=_("renewal of"))
    is_trial = models.BooleanField(_("free trial"), default=False,
                                   help_text=_("The customer's one free trial (no order; its own traffic limit)"))
    resold = models.BooleanField(_("for resale"), default=False,
                                 help_text=_("An account a reseller bought for one of their own customers: "
                                             "not among the reseller's own services"))
    label = models.CharField(_("label"), max_length=64, blank=True,
                             help_text=_("Who a resold account is for (the reseller's name for it)"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
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

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments", verbose_name=_("customer"))
    amount = models.PositiveBigIntegerField(_("amount"), validators=bounds.amount(1))
    receipt_file_id = models.CharField(_("receipt photo (Telegram file id)"), max_length=255)
    receipt_unique_id = models.CharField(
        _("receipt photo (Telegram unique id)"), max_length=64, blank=True, db_index=True,
        help_text=_("Telegram's file_unique_id: the same for the same photo, whoever sends it"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    risk_score = models.PositiveSmallIntegerField(_("risk score"), default=0, help_text=_("0-100, from the risk checks"))
    risk_action = models.CharField(_("risk verdict"), max_length=8, default="allow",
                                   help_text=_("allow, flag, hold (needs a second confirmation) or freeze (banned)"))
    risk_reasons = models.JSONField(_("risk reasons"), default=list, blank=True)
    risk_confirmed_by = models.CharField(_("held receipt confirmed by"), max_length=100, blank=True)
    reviewer = models.CharField(_("reviewed by"), max_length=100, blank=True)
    reason = models.CharField(_("reason for rejection"), max_length=500, blank=True)
    admin_messages = models.JSONField(_("review messages"), default=list, blank=True,
                                      help_text=_("[chat_id, message_id] of the review messages"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("top-up")
        verbose_name_plural = _("top-ups")
        ordering = ["-id"]
        permissions = [("review_payment", _("Can approve or reject top-ups"))]

    def __str__(self):
        return f"payment #{self.pk} ({self.amount:,}, {self.status})"


class ReferralReward(models.Model):
    referrer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="referral_rewards",
                                 verbose_name=_("inviter"))
    referred = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="referral_reward_given",
                                    verbose_name=_("invited customer"))
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="referral_reward", verbose_name=_("order"))
    amount = models.PositiveBigIntegerField(_("reward"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("referral reward")
        verbose_name_plural = _("referral rewards")

    def __str__(self):
        return f"{self.amount:,} to {self.referrer} for {self.referred}"


class DomainEvent(models.Model):
    """A record of each state change, written in the transaction that made it."""

    name = models.CharField(_("event"), max_length=40, db_index=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="events",
                                 verbose_name=_("customer"))
    payload = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("shop event")
        verbose_name_plural = _("shop events")
        ordering = ["-id"]

    def __str__(self):
        return self.name


class CheckoutCode(models.Model):
    """A discount code typed for a purchase, kept on the server while the customer looks at
    the confirmation: the Pay button's callback_data (64 bytes) has no room for a 32-character
    code next to the plan, quantity, total and idempotency key. Kept a day at most."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    key = models.CharField(_("confirmation key"), max_length=16)
    code = models.CharField(_("discount code"), max_length=32)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("discount code kept for a confirmation")
        verbose_name_plural = _("discount codes kept for confirmations")
        constraints = [models.UniqueConstraint(fields=["customer", "key"], name="shop_checkoutcode_customer_key")]

    def __str__(self):
        return f"{self.customer_id}:{self.key}"


class TrafficPack(models.Model):
    """Extra traffic a customer buys for a running service on a panel with a traffic limit."""

    name = models.CharField(_("name"), max_length=100)
    traffic_gb = models.PositiveIntegerField(_("traffic (GB)"), validators=bounds.between(1, bounds.MAX_TRAFFIC_GB))
    price_amount = models.PositiveBigIntegerField(_("price"), validators=bounds.amount())
    is_active = models.BooleanField(_("on sale"), default=True)
    sort_order = models.IntegerField(_("sort order"), default=0, validators=bounds.between(-bounds.MAX_RANK, bounds.MAX_RANK))

    class Meta:
        verbose_name = _("traffic pack")
        verbose_name_plural = _("traffic packs")
        ordering = ["sort_order", "id"]
        constraints = [models.CheckConstraint(condition=Q(traffic_gb__gt=0), name="shop_trafficpack_traffic_positive")]

    def __str__(self):
        return self.name


class TrafficPurchase(models.Model):
    """A traffic pack paid from the wallet (ledger source traffic:<id>), once per idempotency key."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="traffic_purchases",
                                 verbose_name=_("customer"))
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="traffic_purchases",
                                     verbose_name=_("subscription"))
    pack = models.ForeignKey(TrafficPack, null=True, blank=True, on_delete=models.SET_NULL, related_name="purchases",
                             verbose_name=_("traffic pack"))
    traffic_gb = models.PositiveIntegerField(_("traffic (GB)"))
    amount = models.PositiveBigIntegerField(_("amount paid"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("traffic purchase")
        verbose_name_plural = _("traffic purchases")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.traffic_gb} GB for {self.customer}"


class Trial(models.Model):
    """The one free trial of a customer: unique per customer, so two presses make one."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="trial", verbose_name=_("customer"))
    subscription = models.OneToOneField(Subscription, on_delete=models.PROTECT, related_name="trial",
                                        verbose_name=_("subscription"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("free trial")
        verbose_name_plural = _("free trials")
        ordering = ["-id"]

    def __str__(self):
        return f"trial of {self.customer}"
