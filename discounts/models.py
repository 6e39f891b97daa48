"""Smart discounts, their uses, cashback rules and transactions, and discount profiles.

Rules live in discounts/services/validation.py; `clean()` only delegates validation there so the admin,
the API and the bot refuse the same bad input with the same message.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SmartDiscount(models.Model):
    class Kind(models.TextChoices):
        HOURLY = "hourly", _("Happy hour")
        FIRST_PURCHASE = "first_purchase", _("First purchase")
        BULK = "bulk", _("Bulk purchase")
        LOYALTY = "loyalty", _("Loyalty")
        SEASONAL = "seasonal", _("Seasonal")
        BIRTHDAY = "birthday", _("Birthday")
        CODE = "code", _("Promo code")
        CONDITIONAL = "conditional", _("Special offer")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ARCHIVED = "archived", _("Archived")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=100, blank=True, help_text="Shown to the customer next to the kind")
    percent_bp = models.PositiveIntegerField(null=True, blank=True, help_text="Basis points: 1500 = 15%")
    fixed_amount = models.PositiveBigIntegerField(null=True, blank=True)
    cap_amount = models.PositiveBigIntegerField(null=True, blank=True, help_text="At most this much off")
    params = models.JSONField(default=dict, blank=True, help_text="Kind-specific settings (see docs/discounts.md)")
    conditions = models.JSONField(default=dict, blank=True, help_text="Condition tree: all / any / not over predicates")
    code = models.CharField(max_length=32, null=True, blank=True, unique=True, help_text="Stored upper-case")
    customer = models.ForeignKey("shop.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="personal_discounts", help_text="Only this customer (personal offer)")
    starts_at = models.DateTimeField(default=timezone.now, db_index=True)
    ends_at = models.DateTimeField(null=True, blank=True, db_index=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = unlimited")
    used_count = models.PositiveIntegerField(default=0)
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True, default=1, help_text="Empty = unlimited")
    priority = models.IntegerField(default=0, help_text="Higher applies first among stackable ones")
    stackable = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    source = models.CharField(max_length=20, default="admin")
    created_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True, help_text="Bumped by every change (the quote cache watches it)")

    class Meta:
        ordering = ["-priority", "id"]
        indexes = [models.Index(fields=["status", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(max_uses__isnull=True) | Q(used_count__lte=models.F("max_uses")),
                                   name="discount_uses_within_limit"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()}" + (f" «{self.title}»" if self.title else "")

    def save(self, *args, **kwargs):
        # used_count moves only by conditional UPDATEs (redemption, release): an edit in the
        # admin or the API must not write back the count it read, which would lose the uses
        # made meanwhile and let the discount run past max_uses.
        if not self._state.adding and self.pk is not None and kwargs.get("update_fields") is None \
                and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [f.name for f in self._meta.concrete_fields
                                       if not f.primary_key and f.name != "used_count"]
        super().save(*args, **kwargs)

    def clean(self):
        from .services import discount_validate  # not at the top: the services import these models

        discount_validate(self)


class DiscountUsage(models.Model):
    discount = models.ForeignKey(SmartDiscount, on_delete=models.PROTECT, related_name="usages")
    customer = models.ForeignKey("shop.Customer", on_delete=models.PROTECT, related_name="discount_usages")
    order = models.ForeignKey("shop.Order", on_delete=models.PROTECT, related_name="discount_usages")
    amount = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True, help_text="Set when the order was refunded")

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["discount", "order"], name="discount_usage_once_per_order")]
        indexes = [models.Index(fields=["customer", "discount"])]

    def __str__(self):
        return f"{self.discount} on order #{self.order_id}: {self.amount:,}"


class CashbackRule(models.Model):
    title = models.CharField(max_length=100, blank=True)
    percent_bp = models.PositiveIntegerField(null=True, blank=True, help_text="Basis points: 500 = 5%")
    fixed_amount = models.PositiveBigIntegerField(null=True, blank=True)
    cap_amount = models.PositiveBigIntegerField(null=True, blank=True)
    min_amount = models.PositiveBigIntegerField(default=0, help_text="Only orders paying at least this much")
    plans = models.ManyToManyField("shop.Plan", blank=True, related_name="cashback_rules", help_text="Empty = every plan")
    conditions = models.JSONField(default=dict, blank=True)
    customer = models.ForeignKey("shop.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="personal_cashback_rules")
    delay_days = models.PositiveSmallIntegerField(default=0, help_text="Credit this many days after payment")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    source = models.CharField(max_length=20, default="admin")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"cashback #{self.pk}" + (f" «{self.title}»" if self.title else "")

    def clean(self):
        from .services import cashback_rule_validate  # not at the top: the services import these models

        cashback_rule_validate(self)


class CashbackTransaction(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CREDITED = "credited", _("Credited")
        CANCELLED = "cancelled", _("Cancelled")
        REVERSED = "reversed", _("Reversed")

    customer = models.ForeignKey("shop.Customer", on_delete=models.PROTECT, related_name="cashback_transactions")
    order = models.OneToOneField("shop.Order", on_delete=models.PROTECT, related_name="cashback")
    rule = models.ForeignKey(CashbackRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions")
    amount = models.PositiveBigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    due_at = models.DateTimeField(db_index=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    reversed_amount = models.PositiveBigIntegerField(default=0)
    unrecovered_amount = models.PositiveBigIntegerField(default=0, help_text="Reversal the balance could not cover")
    reversed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"cashback {self.amount:,} for order #{self.order_id} ({self.status})"


class UserDiscountProfile(models.Model):
    class Level(models.TextChoices):
        BRONZE = "bronze", _("Bronze")
        SILVER = "silver", _("Silver")
        GOLD = "gold", _("Gold")
        PLATINUM = "platinum", _("Platinum")

    customer = models.OneToOneField("shop.Customer", on_delete=models.CASCADE, related_name="discount_profile")
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.BRONZE)
    lifetime_spend_amount = models.PositiveBigIntegerField(default=0)
    total_saved_amount = models.PositiveBigIntegerField(default=0)
    cashback_earned_amount = models.PositiveBigIntegerField(default=0)
    paid_orders = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.customer}: {self.level}"
