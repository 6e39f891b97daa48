"""Smart discounts, their uses, cashback rules and transactions, and discount profiles.

Rules live in discounts/services/validation.py; `clean()` only delegates validation there so the admin,
the API and the bot refuse the same bad input with the same message.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vpnbot.core import bounds


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

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=100, blank=True, help_text=_("Shown to the customer next to the kind"))
    percent_bp = models.PositiveIntegerField(_("percentage (basis points)"), null=True, blank=True,
                                             help_text=_("Basis points: 1500 = 15%"), validators=bounds.percent_bp(1))
    fixed_amount = models.PositiveBigIntegerField(_("fixed amount"), null=True, blank=True, validators=bounds.amount(1))
    cap_amount = models.PositiveBigIntegerField(_("maximum discount"), null=True, blank=True,
                                                help_text=_("At most this much off"), validators=bounds.amount(1))
    params = models.JSONField(_("kind settings"), default=dict, blank=True,
                              help_text=_("Kind-specific settings (see docs/discounts.md)"))
    conditions = models.JSONField(_("conditions"), default=dict, blank=True,
                                  help_text=_("Condition tree: all / any / not over predicates"))
    code = models.CharField(_("promo code"), max_length=32, null=True, blank=True, unique=True,
                            help_text=_("Stored upper-case"))
    customer = models.ForeignKey("shop.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="personal_discounts", verbose_name=_("customer"),
                                 help_text=_("Only this customer (personal offer)"))
    starts_at = models.DateTimeField(_("starts at"), default=timezone.now, db_index=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True, db_index=True)
    max_uses = models.PositiveIntegerField(_("use limit"), null=True, blank=True, help_text=_("Empty = unlimited"),
                                           validators=bounds.between(1, bounds.MAX_COUNT))
    used_count = models.PositiveIntegerField(_("times used"), default=0)
    per_customer_limit = models.PositiveIntegerField(_("uses per customer"), null=True, blank=True, default=1,
                                                     help_text=_("Empty = unlimited"),
                                                     validators=bounds.between(1, bounds.MAX_COUNT))
    priority = models.IntegerField(_("priority"), default=0, help_text=_("Higher applies first among stackable ones"),
                                   validators=bounds.between(-bounds.MAX_RANK, bounds.MAX_RANK))
    stackable = models.BooleanField(_("combines with other discounts"), default=False)
    for_resellers = models.BooleanField(
        _("also for resellers' purchases"), default=False,
        help_text=_("Also lowers what a reseller pays for the accounts they buy for their customers (off their "
                    "reseller price); otherwise resellers' purchases never get it"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    source = models.CharField(_("made through"), max_length=20, default="admin")
    created_by = models.CharField(_("created by"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True,
                                      help_text=_("Bumped by every change (the quote cache watches it)"))

    class Meta:
        verbose_name = _("smart discount")
        verbose_name_plural = _("smart discounts")
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
    discount = models.ForeignKey(SmartDiscount, on_delete=models.PROTECT, related_name="usages",
                                 verbose_name=_("discount"))
    customer = models.ForeignKey("shop.Customer", on_delete=models.PROTECT, related_name="discount_usages",
                                 verbose_name=_("customer"))
    order = models.ForeignKey("shop.Order", on_delete=models.PROTECT, related_name="discount_usages",
                              verbose_name=_("order"))
    amount = models.PositiveBigIntegerField(_("amount discounted"))
    created_at = models.DateTimeField(_("used at"), default=timezone.now, db_index=True)
    released_at = models.DateTimeField(_("given back at"), null=True, blank=True,
                                       help_text=_("Set when the order was refunded"))

    class Meta:
        verbose_name = _("discount use")
        verbose_name_plural = _("discount uses")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["discount", "order"], name="discount_usage_once_per_order")]
        indexes = [models.Index(fields=["customer", "discount"])]

    def __str__(self):
        return f"{self.discount} on order #{self.order_id}: {self.amount:,}"


class CashbackRule(models.Model):
    title = models.CharField(_("title"), max_length=100, blank=True)
    percent_bp = models.PositiveIntegerField(_("percentage (basis points)"), null=True, blank=True,
                                             help_text=_("Basis points: 500 = 5%"), validators=bounds.percent_bp(1))
    fixed_amount = models.PositiveBigIntegerField(_("fixed amount"), null=True, blank=True, validators=bounds.amount(1))
    cap_amount = models.PositiveBigIntegerField(_("maximum cashback"), null=True, blank=True, validators=bounds.amount(1))
    min_amount = models.PositiveBigIntegerField(_("minimum order amount"), default=0,
                                                help_text=_("Only orders paying at least this much"),
                                                validators=bounds.amount())
    plans = models.ManyToManyField("shop.Plan", blank=True, related_name="cashback_rules", verbose_name=_("plans"),
                                   help_text=_("Empty = every plan"))
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    customer = models.ForeignKey("shop.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="personal_cashback_rules", verbose_name=_("customer"))
    delay_days = models.PositiveSmallIntegerField(_("days before crediting"), default=0,
                                                  help_text=_("Credit this many days after payment"),
                                                  validators=bounds.between(0, bounds.MAX_DAYS))
    starts_at = models.DateTimeField(_("starts at"), default=timezone.now)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    source = models.CharField(_("made through"), max_length=20, default="admin")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("cashback rule")
        verbose_name_plural = _("cashback rules")
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

    customer = models.ForeignKey("shop.Customer", on_delete=models.PROTECT, related_name="cashback_transactions",
                                 verbose_name=_("customer"))
    order = models.OneToOneField("shop.Order", on_delete=models.PROTECT, related_name="cashback", verbose_name=_("order"))
    rule = models.ForeignKey(CashbackRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions",
                             verbose_name=_("cashback rule"))
    amount = models.PositiveBigIntegerField(_("amount"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    due_at = models.DateTimeField(_("due at"), db_index=True)
    credited_at = models.DateTimeField(_("credited at"), null=True, blank=True)
    reversed_amount = models.PositiveBigIntegerField(_("amount taken back"), default=0)
    unrecovered_amount = models.PositiveBigIntegerField(_("amount not recovered"), default=0,
                                                        help_text=_("Reversal the balance could not cover"))
    reversed_at = models.DateTimeField(_("taken back at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("cashback transaction")
        verbose_name_plural = _("cashback transactions")
        ordering = ["-id"]

    def __str__(self):
        return f"cashback {self.amount:,} for order #{self.order_id} ({self.status})"


class UserDiscountProfile(models.Model):
    class Level(models.TextChoices):
        BRONZE = "bronze", _("Bronze")
        SILVER = "silver", _("Silver")
        GOLD = "gold", _("Gold")
        PLATINUM = "platinum", _("Platinum")

    customer = models.OneToOneField("shop.Customer", on_delete=models.CASCADE, related_name="discount_profile",
                                    verbose_name=_("customer"))
    level = models.CharField(_("loyalty level"), max_length=10, choices=Level.choices, default=Level.BRONZE)
    lifetime_spend_amount = models.PositiveBigIntegerField(_("lifetime spend"), default=0)
    total_saved_amount = models.PositiveBigIntegerField(_("total saved with discounts"), default=0)
    cashback_earned_amount = models.PositiveBigIntegerField(_("cashback earned"), default=0)
    paid_orders = models.PositiveIntegerField(_("paid orders"), default=0)
    updated_at = models.DateTimeField(_("counted at"), default=timezone.now)

    class Meta:
        verbose_name = _("discount profile")
        verbose_name_plural = _("discount profiles")

    def __str__(self):
        return f"{self.customer}: {self.level}"
