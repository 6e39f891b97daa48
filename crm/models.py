"""The mini-CRM: profiles, activities, offers, campaigns, insights, journeys.

Business rules live in crm/services.py; these are the fields and constraints.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Segment(models.TextChoices):
    NEW = "new", _("New")
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    VIP = "vip", _("VIP")
    HIGH_VALUE = "high_value", _("High Value")
    AT_RISK = "at_risk", _("At Risk")
    CHURNED = "churned", _("Churned")
    DORMANT = "dormant", _("Dormant")
    WON_BACK = "won_back", _("Won Back")


class Stage(models.TextChoices):
    VISITOR = "visitor", _("Visitor")
    FIRST_PURCHASE = "first_purchase", _("First purchase")
    REPEAT = "repeat", _("Repeat")
    LOYAL = "loyal", _("Loyal")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")
    WON_BACK = "won_back", _("Won back")


class UserProfile(models.Model):
    """One per customer, rewritten by the recompute (crm.services.profiles_recompute)."""

    customer = models.OneToOneField("shop.Customer", on_delete=models.CASCADE, related_name="crm_profile")
    frequency = models.PositiveIntegerField(default=0, help_text="Paid orders")
    monetary_amount = models.BigIntegerField(default=0, help_text="Lifetime spend net of refunds")
    average_order_amount = models.BigIntegerField(default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    recency_days = models.IntegerField(null=True, blank=True, help_text="Days since the last order, as of the run")
    r_score = models.PositiveSmallIntegerField(default=0, db_index=True, help_text="1-5 (0 = never bought)")
    f_score = models.PositiveSmallIntegerField(default=0, db_index=True)
    m_score = models.PositiveSmallIntegerField(default=0, db_index=True)
    favourite_plan = models.ForeignKey("shop.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    avg_days_between_orders = models.IntegerField(null=True, blank=True)
    avg_renewal_late_days = models.IntegerField(null=True, blank=True)
    discounted_orders = models.PositiveIntegerField(default=0)
    active_until = models.DateTimeField(null=True, blank=True, help_text="End of the active subscription, if any")
    last_expired_at = models.DateTimeField(null=True, blank=True)
    churn_risk = models.PositiveSmallIntegerField(default=0, db_index=True, help_text="0-100")
    churn_risk_baseline = models.PositiveSmallIntegerField(default=0, help_text="Churn risk at baseline_at")
    baseline_at = models.DateTimeField(null=True, blank=True)
    segment = models.CharField(max_length=16, choices=Segment.choices, default=Segment.NEW, db_index=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.VISITOR, db_index=True)
    won_back_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True, help_text="Last run that changed this profile")

    class Meta:
        indexes = [models.Index(fields=["segment", "churn_risk"])]

    def __str__(self):
        return f"profile of {self.customer}"

    @property
    def rfm(self) -> str:
        return f"{self.r_score}{self.f_score}{self.m_score}"


class ProfileStage(models.Model):
    """Scratch rows of one recompute run (emptied before and after; the run holds a lock)."""

    customer_id = models.BigIntegerField(primary_key=True)
    joined_at = models.DateTimeField()
    frequency = models.IntegerField(default=0)
    buyer = models.IntegerField(default=0)
    monetary_amount = models.BigIntegerField(default=0)
    paid_sum_amount = models.BigIntegerField(default=0)
    average_order_amount = models.BigIntegerField(default=0)
    first_order_at = models.DateTimeField(null=True)
    last_order_at = models.DateTimeField(null=True)
    recency_days = models.IntegerField(null=True)
    r_score = models.IntegerField(default=0)
    f_score = models.IntegerField(default=0)
    m_score = models.IntegerField(default=0)
    favourite_plan_id = models.BigIntegerField(null=True)
    avg_days_between_orders = models.IntegerField(null=True)
    avg_renewal_late_days = models.IntegerField(null=True)
    discounted_orders = models.IntegerField(default=0)
    active_until = models.DateTimeField(null=True)
    last_expired_at = models.DateTimeField(null=True)
    churn_risk = models.IntegerField(default=0)
    churn_risk_baseline = models.IntegerField(default=0)
    baseline_at = models.DateTimeField(null=True)
    prev_stage = models.CharField(max_length=16, null=True)
    prev_won_back_at = models.DateTimeField(null=True)
    won_back_at = models.DateTimeField(null=True)
    segment = models.CharField(max_length=16, default="")
    stage = models.CharField(max_length=16, default="")

    def __str__(self):
        return f"stage row {self.customer_id}"


class RecomputeRun(models.Model):
    """One recompute: its timestamp, what it changed, and the segment sizes it found."""

    as_of = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    profiles = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    journey_steps = models.PositiveIntegerField(default=0)
    insights = models.PositiveIntegerField(default=0)
    offers = models.PositiveIntegerField(default=0)
    segment_counts = models.JSONField(default=dict, blank=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"recompute as of {self.as_of:%Y-%m-%d %H:%M}"


class RecomputeLock(models.Model):
    """A single row locked by the running recompute so overlapping runs skip."""

    name = models.CharField(max_length=32, unique=True)

    def __str__(self):
        return self.name


class UserActivity(models.Model):
    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        COMMAND = "command", _("Command used")
        PLANS_VIEWED = "plans_viewed", _("Plans viewed")
        TOPUP_SUBMITTED = "topup_submitted", _("Top-up submitted")
        TOPUP = "topup", _("Top-up approved")
        TOPUP_REJECTED = "topup_rejected", _("Top-up rejected")
        ORDER = "order", _("Order")
        RENEWAL = "renewal", _("Renewal")
        EXPIRY = "expiry", _("Subscription expired")
        REFUND = "refund", _("Refund")
        DISCOUNT_USED = "discount_used", _("Discount used")
        REFERRAL = "referral", _("Referral reward")
        CONFIG = "config", _("Config delivered")
        CAMPAIGN_PRESSED = "campaign_pressed", _("Campaign button pressed")
        OFFER_SENT = "offer_sent", _("Offer received")
        BOT_BLOCKED = "bot_blocked", _("Blocked the bot")

    customer = models.ForeignKey("shop.Customer", on_delete=models.CASCADE, related_name="crm_activities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ref = models.CharField(max_length=64, blank=True, help_text="What it is about, e.g. order:12 or /plans")
    amount = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "created_at"]), models.Index(fields=["kind", "created_at"])]
        verbose_name_plural = "user activities"

    def __str__(self):
        return f"{self.get_kind_display()} {self.ref}".strip()


class PersonalizedOffer(models.Model):
    class Kind(models.TextChoices):
        RENEWAL = "renewal", _("Renewal discount")
        WIN_BACK = "win_back", _("Win-back discount")
        VIP_CASHBACK = "vip_cashback", _("VIP cashback")
        CAMPAIGN = "campaign", _("Campaign offer")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey("shop.Customer", on_delete=models.CASCADE, related_name="crm_offers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    segment = models.CharField(max_length=16, blank=True)
    percent_bp = models.PositiveIntegerField(default=0)
    code = models.CharField(max_length=32, blank=True, db_index=True, help_text="The discount code (empty for cashback)")
    discount_ref = models.CharField(max_length=40, blank=True, help_text="The discounts object behind it")
    plan = models.ForeignKey("shop.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    valid_until = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    dedup_key = models.CharField(max_length=80, unique=True)
    episode = models.BigIntegerField(null=True, blank=True, help_text="The journey step (entering At Risk/Churned) it answers")
    order_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "status"])]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.customer}"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(max_length=100)
    segments = models.JSONField(default=list, blank=True, help_text='Segment keys, e.g. ["at_risk", "churned"]; empty = everyone')
    condition = models.JSONField(default=dict, blank=True, help_text="Optional condition tree (the discounts' syntax)")
    text = models.TextField(help_text="Placeholders: {first_name}, {username}, {code}, {percent}, {valid_until}")
    photo = models.CharField(max_length=255, blank=True, help_text="A Telegram file_id or an https URL")
    buttons = models.JSONField(default=list, blank=True, help_text='[["label", "https://..."], ...]')
    offer_percent_bp = models.PositiveIntegerField(default=0, help_text="Attach a single-use discount code (0 = none)")
    offer_valid_hours = models.PositiveIntegerField(default=72)
    urgent = models.BooleanField(default=False, help_text="Ignore quiet hours")
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="Empty = as soon as it is sent")
    conversion_days = models.PositiveSmallIntegerField(default=7)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.name


class CampaignRecipient(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        BLOCKED = "blocked", _("Blocked")
        SKIPPED = "skipped", _("Skipped")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey("shop.Customer", on_delete=models.CASCADE, related_name="crm_campaigns")
    notification_id = models.BigIntegerField(null=True, blank=True, help_text="notifications.Notification id")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    offer = models.ForeignKey(PersonalizedOffer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    pressed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="crm_recipient_once")]

    def __str__(self):
        return f"{self.campaign} → {self.customer}"


class UserInsight(models.Model):
    class Kind(models.TextChoices):
        RENEWS_LATE = "renews_late", _("Renews late")
        DISCOUNT_ONLY = "discount_only", _("Buys only with a discount")
        CHURN_RISK_UP = "churn_risk_up", _("Churn risk rising")
        LOYAL = "loyal", _("Loyal customer")
        SEGMENT_GROWTH = "segment_growth", _("Segment grew")

    class Severity(models.TextChoices):
        INFO = "info", _("Info")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")

    customer = models.ForeignKey("shop.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="crm_insights", help_text="Empty = about the whole shop")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    segment = models.CharField(max_length=16, blank=True)
    value = models.IntegerField(default=0)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "kind", "expires_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.value})"


class CustomerJourney(models.Model):
    """Every stage change of a customer, with its time."""

    customer = models.ForeignKey("shop.Customer", on_delete=models.CASCADE, related_name="crm_journey")
    from_stage = models.CharField(max_length=16, choices=Stage.choices)
    stage = models.CharField(max_length=16, choices=Stage.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["customer", "at"])]

    def __str__(self):
        return f"{self.from_stage} → {self.stage}"
