"""The mini-CRM's tables: profiles, activities, offers, campaigns, insights, journeys.
Fields and constraints only; the business rules live in crm/services/."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vpnbot.core import bounds


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

    customer = models.OneToOneField("shop.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                    related_name="crm_profile")
    frequency = models.PositiveIntegerField(_("paid orders"), default=0)
    monetary_amount = models.BigIntegerField(_("lifetime spend"), default=0, help_text=_("Lifetime spend net of refunds"))
    average_order_amount = models.BigIntegerField(_("average order"), default=0)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    recency_days = models.IntegerField(_("days since the last order"), null=True, blank=True,
                                       help_text=_("Days since the last order, as of the run"))
    r_score = models.PositiveSmallIntegerField(_("recency score (R)"), default=0, db_index=True, help_text=_("1-5 (0 = never bought)"))
    f_score = models.PositiveSmallIntegerField(_("frequency score (F)"), default=0, db_index=True)
    m_score = models.PositiveSmallIntegerField(_("spending score (M)"), default=0, db_index=True)
    favourite_plan = models.ForeignKey("shop.Plan", verbose_name=_("favourite plan"), null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    avg_days_between_orders = models.IntegerField(_("average days between orders"), null=True, blank=True)
    avg_renewal_late_days = models.IntegerField(_("average days renewed late"), null=True, blank=True)
    discounted_orders = models.PositiveIntegerField(_("orders with a discount"), default=0)
    active_until = models.DateTimeField(_("active until"), null=True, blank=True, help_text=_("End of the active subscription, if any"))
    last_expired_at = models.DateTimeField(_("last service ended"), null=True, blank=True)
    churn_risk = models.PositiveSmallIntegerField(_("churn risk"), default=0, db_index=True, help_text=_("0-100"))
    churn_risk_baseline = models.PositiveSmallIntegerField(_("churn risk baseline"), default=0, help_text=_("Churn risk at baseline_at"))
    baseline_at = models.DateTimeField(_("baseline taken"), null=True, blank=True)
    segment = models.CharField(_("segment"), max_length=16, choices=Segment.choices, default=Segment.NEW, db_index=True)
    stage = models.CharField(_("journey stage"), max_length=16, choices=Stage.choices, default=Stage.VISITOR, db_index=True)
    won_back_at = models.DateTimeField(_("won back"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), null=True, blank=True, help_text=_("Last run that changed this profile"))

    class Meta:
        verbose_name = _("customer profile")
        verbose_name_plural = _("customer profiles")
        indexes = [models.Index(fields=["segment", "churn_risk"])]

    def __str__(self):
        return f"profile of {self.customer}"

    @property
    def rfm(self) -> str:
        return f"{self.r_score}{self.f_score}{self.m_score}"


class ProfileStage(models.Model):
    """Scratch rows of one recompute run (emptied before and after; the run holds a lock)."""

    customer_id = models.BigIntegerField(_("customer id"), primary_key=True)
    joined_at = models.DateTimeField(_("joined"))
    frequency = models.IntegerField(_("paid orders"), default=0)
    buyer = models.IntegerField(_("has bought"), default=0)
    monetary_amount = models.BigIntegerField(_("lifetime spend"), default=0)
    paid_sum_amount = models.BigIntegerField(_("total paid"), default=0)
    average_order_amount = models.BigIntegerField(_("average order"), default=0)
    first_order_at = models.DateTimeField(_("first order"), null=True)
    last_order_at = models.DateTimeField(_("last order"), null=True)
    recency_days = models.IntegerField(_("days since the last order"), null=True)
    r_score = models.IntegerField(_("recency score (R)"), default=0)
    f_score = models.IntegerField(_("frequency score (F)"), default=0)
    m_score = models.IntegerField(_("spending score (M)"), default=0)
    favourite_plan_id = models.BigIntegerField(_("favourite plan id"), null=True)
    avg_days_between_orders = models.IntegerField(_("average days between orders"), null=True)
    avg_renewal_late_days = models.IntegerField(_("average days renewed late"), null=True)
    discounted_orders = models.IntegerField(_("orders with a discount"), default=0)
    active_until = models.DateTimeField(_("active until"), null=True)
    last_expired_at = models.DateTimeField(_("last service ended"), null=True)
    churn_risk = models.IntegerField(_("churn risk"), default=0)
    churn_risk_baseline = models.IntegerField(_("churn risk baseline"), default=0)
    baseline_at = models.DateTimeField(_("baseline taken"), null=True)
    prev_stage = models.CharField(_("previous stage"), max_length=16, null=True)
    prev_won_back_at = models.DateTimeField(_("previously won back"), null=True)
    won_back_at = models.DateTimeField(_("won back"), null=True)
    segment = models.CharField(_("segment"), max_length=16, default="")
    stage = models.CharField(_("journey stage"), max_length=16, default="")

    class Meta:
        verbose_name = _("recompute scratch row")
        verbose_name_plural = _("recompute scratch rows")

    def __str__(self):
        return f"stage row {self.customer_id}"


class RecomputeRun(models.Model):
    """One recompute: its timestamp, what it changed, and the segment sizes it found."""

    as_of = models.DateTimeField(_("as of"), db_index=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    profiles = models.PositiveIntegerField(_("profiles"), default=0)
    created = models.PositiveIntegerField(_("new profiles"), default=0)
    changed = models.PositiveIntegerField(_("changed profiles"), default=0)
    journey_steps = models.PositiveIntegerField(_("journey steps"), default=0)
    insights = models.PositiveIntegerField(_("insights"), default=0)
    offers = models.PositiveIntegerField(_("offers"), default=0)
    segment_counts = models.JSONField(_("segment sizes"), default=dict, blank=True)
    seconds = models.FloatField(_("seconds"), default=0)

    class Meta:
        verbose_name = _("recompute run")
        verbose_name_plural = _("recompute runs")
        ordering = ["-id"]

    def __str__(self):
        return f"recompute as of {self.as_of:%Y-%m-%d %H:%M}"


class RecomputeLock(models.Model):
    """A single row locked by the running recompute so overlapping runs skip."""

    name = models.CharField(_("name"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("recompute lock")
        verbose_name_plural = _("recompute locks")

    def __str__(self):
        return self.name


class UserActivity(models.Model):
    """Something a customer did (or the shop did for them), one row per shop event."""

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

    customer = models.ForeignKey("shop.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="crm_activities")
    kind = models.CharField(_("activity"), max_length=20, choices=Kind.choices)
    ref = models.CharField(_("about"), max_length=64, blank=True, help_text=_("What it is about, e.g. order:12 or /plans"))
    amount = models.BigIntegerField(_("amount"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("user activity")
        verbose_name_plural = _("user activities")
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "created_at"]), models.Index(fields=["kind", "created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.ref}".strip()


class PersonalizedOffer(models.Model):
    """A personal discount code (or VIP cashback rule) the CRM made through the discounts app."""

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

    customer = models.ForeignKey("shop.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="crm_offers")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    segment = models.CharField(_("segment"), max_length=16, blank=True)
    percent_bp = models.PositiveIntegerField(_("percent (basis points)"), default=0, validators=bounds.percent_bp(1))
    code = models.CharField(_("discount code"), max_length=32, blank=True, db_index=True,
                            help_text=_("The discount code (empty for cashback)"))
    discount_ref = models.CharField(_("discount reference"), max_length=40, blank=True, help_text=_("The discounts object behind it"))
    plan = models.ForeignKey("shop.Plan", verbose_name=_("plan"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    valid_until = models.DateTimeField(_("valid until"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    dedup_key = models.CharField(_("duplicate guard key"), max_length=80, unique=True)
    episode = models.BigIntegerField(_("episode"), null=True, blank=True,
                                  help_text=_("The journey step (entering At Risk/Churned) it answers"))
    order_id = models.BigIntegerField(_("order id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal offer")
        verbose_name_plural = _("personal offers")
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "status"])]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.customer}"


class Campaign(models.Model):
    """A message to a target (segments and/or a condition tree), with an optional offer."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=100)
    segments = models.JSONField(_("segments"), default=list, blank=True,
                                help_text=_('Segment keys, e.g. ["at_risk", "churned"]; empty = everyone'))
    condition = models.JSONField(_("condition"), default=dict, blank=True, help_text=_("Optional condition tree (the discounts' syntax)"))
    text = models.TextField(_("text"), help_text=_("Placeholders: {first_name}, {username}, {code}, {percent}, {valid_until}"))
    photo = models.CharField(_("photo"), max_length=255, blank=True, help_text=_("A Telegram file_id or an https URL"))
    buttons = models.JSONField(_("buttons"), default=list, blank=True, help_text=_('[["label", "https://..."], ...]'))
    offer_percent_bp = models.PositiveIntegerField(_("offer percent (basis points)"), default=0,
                                                   help_text=_("Attach a single-use discount code (0 = none)"),
                                                   validators=bounds.percent_bp())
    offer_valid_hours = models.PositiveIntegerField(_("offer valid for (hours)"), default=72,
                                                    validators=bounds.between(1, bounds.MAX_OFFER_HOURS))
    urgent = models.BooleanField(_("urgent"), default=False, help_text=_("Ignore quiet hours"))
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True, help_text=_("Empty = as soon as it is sent"))
    conversion_days = models.PositiveSmallIntegerField(_("conversion window (days)"), default=7,
                                                       validators=bounds.between(1, bounds.MAX_CONVERSION_DAYS))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.CharField(_("created by"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-id"]
        permissions = [("send_campaign", _("Can send, cancel and stop campaigns"))]

    def __str__(self):
        return self.name


class CampaignRecipient(models.Model):
    """One customer a campaign reached (unique, so a rerun never sends twice)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        BLOCKED = "blocked", _("Blocked")
        SKIPPED = "skipped", _("Skipped")

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey("shop.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="crm_campaigns")
    notification_id = models.BigIntegerField(_("notification id"), null=True, blank=True, help_text=_("notifications.Notification id"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    offer = models.ForeignKey(PersonalizedOffer, verbose_name=_("offer"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    pressed_at = models.DateTimeField(_("button pressed"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign recipient")
        verbose_name_plural = _("campaign recipients")
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="crm_recipient_once")]

    def __str__(self):
        return f"{self.campaign} → {self.customer}"


class UserInsight(models.Model):
    """A fact the recompute found about a customer (or, without one, about the shop)."""

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

    customer = models.ForeignKey("shop.Customer", verbose_name=_("customer"), null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="crm_insights", help_text=_("Empty = about the whole shop"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    segment = models.CharField(_("segment"), max_length=16, blank=True)
    value = models.IntegerField(_("value"), default=0)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.INFO)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("insight")
        verbose_name_plural = _("insights")
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "kind", "expires_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.value})"


class CustomerJourney(models.Model):
    """Every stage change of a customer, with its time."""

    customer = models.ForeignKey("shop.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="crm_journey")
    from_stage = models.CharField(_("from stage"), max_length=16, choices=Stage.choices)
    stage = models.CharField(_("to stage"), max_length=16, choices=Stage.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("journey step")
        verbose_name_plural = _("journey steps")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["customer", "at"])]

    def __str__(self):
        return f"{self.from_stage} → {self.stage}"
