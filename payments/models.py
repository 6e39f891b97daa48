"""Payments of every provider in one table: Telegram Stars, Zarinpal, NowPayments, and the
card receipts (mirrored from the shop's top-ups, so operators see all money in one list)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vpnbot.core import bounds


class Payment(models.Model):
    class Provider(models.TextChoices):
        CARD = "card", _("Card receipt")
        STARS = "stars", _("Telegram Stars")
        ZARINPAL = "zarinpal", _("Zarinpal")
        NOWPAYMENTS = "nowpayments", _("NowPayments (crypto)")

    class Purpose(models.TextChoices):
        TOPUP = "topup", _("wallet top-up")
        ORDER = "order", _("order")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for payment")
        PAID = "paid", _("paid")
        HELD = "held", _("held for an admin")
        FAILED = "failed", _("failed")
        REFUSED = "refused", _("refused by an admin")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")
        REFUNDED = "refunded", _("refunded")

    OPEN = (Status.PENDING,)

    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices, db_index=True)
    provider_payment_id = models.CharField(
        _("id at the provider"), max_length=128, null=True, blank=True,
        help_text=_("Telegram's charge id, Zarinpal's authority, NowPayments' invoice id; unique per provider"))
    customer = models.ForeignKey("shop.Customer", on_delete=models.PROTECT, related_name="online_payments",
                                 verbose_name=_("customer"))
    purpose = models.CharField(_("pays for"), max_length=8, choices=Purpose.choices, default=Purpose.TOPUP)
    amount = models.PositiveBigIntegerField(_("amount"), validators=bounds.amount(1),
                                            help_text=_("In the shop's currency: what the wallet is credited"))
    currency = models.CharField(_("provider's currency"), max_length=8)
    provider_amount = models.DecimalField(_("amount asked at the provider"), max_digits=24, decimal_places=8)
    received_amount = models.DecimalField(_("amount the provider reported"), max_digits=24, decimal_places=8,
                                          null=True, blank=True)
    received_currency = models.CharField(_("currency the provider reported"), max_length=8, blank=True)
    plan = models.ForeignKey("shop.Plan", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("plan"))
    quantity = models.PositiveSmallIntegerField(_("periods"), default=1, validators=bounds.between(1, bounds.MAX_QUANTITY))
    expected_total = models.PositiveBigIntegerField(_("order total expected"), null=True, blank=True)
    discount_code = models.CharField(_("discount code"), max_length=32, blank=True)
    order = models.ForeignKey("shop.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("order"))
    receipt = models.OneToOneField("shop.Payment", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="online", verbose_name=_("card receipt"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    status_detail = models.CharField(_("provider's status"), max_length=64, blank=True)
    pay_url = models.URLField(_("payment page"), max_length=500, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True,
                            help_text=_("Why it is held, refused or failed; the admin's reason"))
    decided_by = models.CharField(_("decided by"), max_length=100, blank=True)
    timeline = models.JSONField(_("timeline"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    checked_at = models.DateTimeField(_("last checked with the provider"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, db_index=True)
    # what the risk checks said when the money arrived (vpnbot.shop.risk, subject "online_payment")
    risk_score = models.PositiveSmallIntegerField(_("risk score"), default=0, help_text=_("0-100, from the risk checks"))
    risk_action = models.CharField(_("risk verdict"), max_length=8, default="allow",
                                   help_text=_("allow, flag, hold (needs a second confirmation) or freeze (banned)"))
    risk_reasons = models.JSONField(_("risk reasons"), default=list, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-id"]
        permissions = [("decide_payment", _("Can check, credit or refuse online payments")),
                       ("refund_payment", _("Can refund online payments to their provider"))]
        constraints = [
            # NULLs (not yet known) do not collide on any of the three databases
            models.UniqueConstraint(fields=["provider", "provider_payment_id"], name="payment_provider_id_unique"),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.get_provider_display()} #{self.pk} ({self.amount:,}, {self.status})"
