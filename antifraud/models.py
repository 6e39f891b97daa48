"""The anti-fraud records: the rules an operator tunes, the cases they review, every decision,
bans, the whitelist, and the receipts' photo fingerprints (duplicates across customers)."""


from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vpnbot.core import bounds
from vpnbot.shop.models import Customer, Payment


class RiskRule(models.Model):
    """One rule: on/off, the score it adds when it fires, and its thresholds (params; their
    keys and defaults are in antifraud.rules.DEFAULTS and docs/antifraud.md)."""

    key = models.CharField(_("rule"), max_length=40, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    score = models.PositiveSmallIntegerField(_("score"), default=30, validators=bounds.between(0, 100),
                                             help_text=_("Added to the risk score (0-100) when the rule fires"))
    params = models.JSONField(_("thresholds"), default=dict, blank=True,
                              help_text=_("The rule's thresholds; see docs/antifraud.md"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("risk rule")
        verbose_name_plural = _("risk rules")
        ordering = ["key"]

    def __str__(self):
        return self.key


class RiskCase(models.Model):
    """The risk verdict on one subject (a receipt, an online payment, a referral reward, a
    trial, a refund) and what an operator decided about it."""

    class Subject(models.TextChoices):
        PAYMENT = "payment", _("top-up receipt")
        ONLINE_PAYMENT = "online_payment", _("online payment")
        REFERRAL = "referral", _("referral reward")
        TRIAL = "trial", _("trial")
        REFUND = "refund", _("refund")

    class Status(models.TextChoices):
        ALLOWED = "allowed", _("allowed")
        FLAGGED = "flagged", _("flagged")
        HELD = "held", _("held")
        RELEASED = "released", _("released by an operator")
        CONFIRMED = "confirmed", _("hold confirmed by an operator")

    OPEN = (Status.FLAGGED, Status.HELD)

    subject = models.CharField(_("subject"), max_length=16, choices=Subject.choices)
    subject_id = models.BigIntegerField(_("subject id"), help_text=_(
        "The receipt's, the online payment's or the refunded order's id; the invited or trying customer's id"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="risk_cases",
                                 verbose_name=_("customer"))
    score = models.PositiveSmallIntegerField(_("score"), default=0)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ALLOWED)
    amount = models.PositiveBigIntegerField(_("amount at stake"), default=0)
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    decided_by = models.CharField(_("decided by"), max_length=100, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_why = models.CharField(_("why"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("risk case")
        verbose_name_plural = _("risk cases")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["subject", "subject_id"], name="antifraud_case_subject_once")]
        indexes = [models.Index(fields=["status", "created_at"], name="antifraud_case_status_at")]
        permissions = [("decide_riskcase", _("Can release or confirm held risk cases"))]

    def __str__(self):
        return f"{self.get_subject_display()} #{self.subject_id} ({self.score}, {self.status})"


class RiskDecision(models.Model):
    """Every decision and override, by the rules or a person: who, when, what, why."""

    case = models.ForeignKey(RiskCase, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions",
                             verbose_name=_("case"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="risk_decisions",
                                 verbose_name=_("customer"))
    action = models.CharField(_("what"), max_length=24)
    by = models.CharField(_("who"), max_length=100, help_text=_("'rules' when the rules decided"))
    why = models.CharField(_("why"), max_length=500, blank=True)
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("risk decision")
        verbose_name_plural = _("risk decisions")
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "at"], name="antifraud_decision_customer")]

    def __str__(self):
        return f"{self.action} by {self.by}"


class Ban(models.Model):
    """A customer the bot no longer serves (an operator's decision); lifted, it stays as history."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="bans", verbose_name=_("customer"))
    telegram_id = models.BigIntegerField(_("Telegram ID"),
                                         help_text=_("Copied from the customer: the bot checks it on every update"))
    reason = models.CharField(_("reason"), max_length=500)
    by = models.CharField(_("banned by"), max_length=100)
    created_at = models.DateTimeField(_("banned at"), default=timezone.now)
    told_at = models.DateTimeField(_("told at"), null=True, blank=True,
                                   help_text=_("When the bot gave its one answer; silence after that"))
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.CharField(_("lifted by"), max_length=100, blank=True)
    lift_reason = models.CharField(_("why lifted"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("ban")
        verbose_name_plural = _("bans")
        ordering = ["-id"]
        indexes = [models.Index(fields=["telegram_id", "lifted_at"], name="antifraud_ban_active")]
        permissions = [("ban_customer", _("Can ban and unban customers"))]

    def __str__(self):
        return f"ban of {self.customer}"


class Whitelist(models.Model):
    """A customer the rules trust: scored zero (a ban still counts)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="risk_whitelist",
                                    verbose_name=_("customer"))
    by = models.CharField(_("added by"), max_length=100)
    why = models.CharField(_("why"), max_length=500)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("whitelisted customer")
        verbose_name_plural = _("whitelisted customers")

    def __str__(self):
        return str(self.customer)


class ReceiptPhoto(models.Model):
    """The first receipt seen with a Telegram photo (file_unique_id): unique, so two receipts of
    the same photo at once are told apart by the database, whichever commits first."""

    unique_id = models.CharField(_("Telegram unique id"), max_length=64, unique=True)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="+", verbose_name=_("first receipt"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    created_at = models.DateTimeField(_("first seen at"), default=timezone.now)

    class Meta:
        verbose_name = _("receipt photo")
        verbose_name_plural = _("receipt photos")

    def __str__(self):
        return self.unique_id


class ReceiptFingerprint(models.Model):
    """A receipt image's perceptual hash (64 bits, as 16 hex digits) and its four 16-bit bands,
    each indexed: two images within 7 bits differ by at most 1 bit in some band, so the
    near-duplicates of an image are found by a few indexed lookups, never a scan."""

    payment = models.OneToOneField(Payment, on_delete=models.CASCADE, related_name="fingerprint",
                                   verbose_name=_("receipt"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    phash = models.CharField(_("perceptual hash"), max_length=16)
    band0 = models.PositiveIntegerField(db_index=True)
    band1 = models.PositiveIntegerField(db_index=True)
    band2 = models.PositiveIntegerField(db_index=True)
    band3 = models.PositiveIntegerField(db_index=True)
    created_at = models.DateTimeField(_("hashed at"), default=timezone.now)

    class Meta:
        verbose_name = _("receipt fingerprint")
        verbose_name_plural = _("receipt fingerprints")

    def __str__(self):
        return self.phash



