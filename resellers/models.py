"""The resellers' tables: who is a reseller (tier, parent, limits), their per-plan prices, the
accounts they bought for their customers (a stable id over renewals), each bulk purchase, the
commissions parents earn on their sub-resellers, and the resellers' API tokens."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vpnbot.core import bounds
from vpnbot.shop.models import Customer, Order, Plan, Subscription


class Reseller(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="reseller",
                                    verbose_name=_("customer"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent reseller"),
                               help_text=_("The reseller this one was invited by (a sub-reseller)"))
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Off = demoted: the history is kept"))
    discount_bp = models.PositiveIntegerField(
        _("discount (basis points)"), default=0, validators=bounds.percent_bp(),
        help_text=_("The tier: off the list price of plans without a price of their own (1500 = 15%)"))
    markup_bp = models.PositiveIntegerField(
        _("markup over the parent (basis points)"), default=0, validators=bounds.percent_bp(),
        help_text=_("A sub-reseller's price: the parent's price plus this much"))
    commission_bp = models.PositiveIntegerField(
        _("parent's commission (basis points)"), default=0, validators=bounds.percent_bp(),
        help_text=_("Of what this sub-reseller pays, credited to the parent's wallet"))
    floor_bp = models.PositiveIntegerField(
        _("floor for sub-resellers (basis points)"), default=0, validators=bounds.percent_bp(),
        help_text=_("The shop never sells to this reseller's sub-resellers under this share of the list price"))
    daily_account_limit = models.PositiveIntegerField(
        _("accounts per day"), default=0, validators=bounds.between(0, bounds.MAX_COUNT),
        help_text=_("New accounts a day at most (the shop's day); 0 = no limit"))
    is_frozen = models.BooleanField(_("frozen"), default=False, help_text=_("A frozen reseller cannot buy or renew"))
    plans = models.ManyToManyField(Plan, blank=True, related_name="+", verbose_name=_("plans they may sell"),
                                   help_text=_("None chosen = every plan on sale"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("promoted at"), default=timezone.now)
    demoted_at = models.DateTimeField(_("demoted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reseller")
        verbose_name_plural = _("resellers")
        ordering = ["-id"]
        permissions = [("manage_reseller", _("Can promote and demote resellers and issue their tokens"))]
        # no CHECK (parent <> id): MariaDB refuses an AUTO_INCREMENT column in a CHECK clause (error
        # 1901); the services refuse a reseller under themselves or their own sub-reseller

    def __str__(self):
        return str(self.customer)


class ResellerPrice(models.Model):
    """A wholesale price of one plan for one reseller (per period), instead of the tier's discount."""

    reseller = models.ForeignKey(Reseller, on_delete=models.CASCADE, related_name="prices", verbose_name=_("reseller"))
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="+", verbose_name=_("plan"))
    price_amount = models.PositiveBigIntegerField(_("price"), validators=bounds.amount())

    class Meta:
        verbose_name = _("reseller price")
        verbose_name_plural = _("reseller prices")
        constraints = [models.UniqueConstraint(fields=["reseller", "plan"], name="resellers_price_reseller_plan")]

    def __str__(self):
        return f"{self.plan}: {self.price_amount:,}"


class Batch(models.Model):
    """One purchase of one or more accounts: all of them or none, once per idempotency key."""

    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="batches", verbose_name=_("reseller"))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("plan"))
    quantity = models.PositiveIntegerField(_("accounts"), validators=bounds.between(1, bounds.MAX_QUANTITY))
    periods = models.PositiveSmallIntegerField(_("periods"), default=1, validators=bounds.between(1, bounds.MAX_QUANTITY))
    unit_amount = models.PositiveBigIntegerField(_("price per account"))
    total_amount = models.PositiveBigIntegerField(_("total"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    file_sent_at = models.DateTimeField(_("configs file sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("reseller purchase")
        verbose_name_plural = _("reseller purchases")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.quantity} × {self.plan}"


class Account(models.Model):
    """An account a reseller bought for one of their customers; its id stays the same over
    renewals (`subscription` follows the chain's latest)."""

    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("reseller"))
    label = models.CharField(_("label"), max_length=64, help_text=_("The reseller's name for it (their customer)"))
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("purchase"))
    first_subscription = models.OneToOneField(Subscription, on_delete=models.PROTECT, related_name="reseller_account",
                                              verbose_name=_("first subscription"))
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("latest subscription"))
    disabled_at = models.DateTimeField(_("switched off at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("reseller account")
        verbose_name_plural = _("reseller accounts")
        ordering = ["-id"]
        indexes = [models.Index(fields=["reseller", "label"]), models.Index(fields=["reseller", "created_at"])]

    def __str__(self):
        return f"{self.label} (#{self.pk})"


class Commission(models.Model):
    """What a parent earned on one order of a sub-reseller: credited once (ledger source
    commission:<order>), taken back in proportion on a refund."""

    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="commissions",
                                 verbose_name=_("earned by"))
    sub_reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("sub-reseller"))
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="reseller_commission",
                                 verbose_name=_("order"))
    amount = models.PositiveBigIntegerField(_("commission"))
    reversed_amount = models.PositiveBigIntegerField(_("taken back"), default=0)
    unrecovered_amount = models.PositiveBigIntegerField(
        _("not recovered"), default=0, help_text=_("What a refund should have taken back but the wallet could not give"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    reversed_at = models.DateTimeField(_("taken back at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reseller commission")
        verbose_name_plural = _("reseller commissions")
        ordering = ["-id"]
        constraints = [models.CheckConstraint(
            condition=Q(reversed_amount__lte=models.F("amount") - models.F("unrecovered_amount")),
            name="resellers_commission_reversed_le_amount")]

    def __str__(self):
        return f"{self.amount:,} for order #{self.order_id}"


class Token(models.Model):
    """A reseller's API key: only its SHA-256 is kept; the key is shown once, when made."""

    reseller = models.ForeignKey(Reseller, on_delete=models.CASCADE, related_name="tokens", verbose_name=_("reseller"))
    name = models.CharField(_("name"), max_length=64, blank=True, help_text=_("What it is for, e.g. my website"))
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("key starts with"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reseller API token")
        verbose_name_plural = _("reseller API tokens")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.prefix}… ({self.name or self.reseller})"
