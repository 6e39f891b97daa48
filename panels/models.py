"""The panels' tables: a VPN panel (kind, address, encrypted credentials, which inbounds a new
account gets, capacity) and the account a subscription has on one."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vpnbot.core import bounds


class Panel(models.Model):
    class Kind(models.TextChoices):
        XUI = "3x-ui", "3x-ui"
        MARZBAN = "marzban", "Marzban"
        PASARGUARD = "pasarguard", "PasarGuard"
        MANUAL = "manual", _("manual (an operator delivers the config)")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        DRAINING = "draining", _("draining (keeps its accounts, gets no new ones)")
        DISABLED = "disabled", _("disabled")

    name = models.CharField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    base_url = models.URLField(_("address"), max_length=300, blank=True,
                               help_text=_("The panel's URL with its web base path, e.g. https://host:2053/secret-path"))
    public_base_url = models.URLField(_("public subscription address"), max_length=300, blank=True,
                                      help_text=_("Put before a relative subscription link (Marzban without "
                                                  "XRAY_SUBSCRIPTION_URL_PREFIX), or the 3x-ui subscription server"))
    username = models.CharField(_("username"), max_length=100, blank=True)
    password_encrypted = models.TextField(_("password (encrypted)"), blank=True, editable=False)
    token_encrypted = models.TextField(_("API token (encrypted)"), blank=True, editable=False)
    inbounds = models.JSONField(_("inbounds"), default=list, blank=True,
                                help_text=_("What a new account gets: 3x-ui inbound ids, Marzban inbound tags, "
                                            "PasarGuard group ids"))
    verify_tls = models.BooleanField(_("verify TLS certificate"), default=True)
    timeout_seconds = models.PositiveSmallIntegerField(_("timeout (seconds)"), default=15,
                                                       validators=bounds.between(1, 120))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    capacity = models.PositiveIntegerField(_("capacity"), default=0, validators=bounds.between(0, bounds.MAX_COUNT),
                                           help_text=_("Most active accounts (0 = no limit)"))
    plans = models.ManyToManyField("shop.Plan", related_name="panels", blank=True, verbose_name=_("plans sold here"))
    version = models.CharField(_("version"), max_length=40, blank=True, editable=False)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    synced_at = models.DateTimeField(_("last usage sync"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("panel")
        verbose_name_plural = _("panels")
        ordering = ["name"]
        permissions = [("operate_panel", _("Can test panels, retry provisioning and repair accounts"))]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class PanelAccount(models.Model):
    """The account behind a subscription and its renewals (one per chain of renewals: a
    renewal extends the same account). `subscription` is the latest subscription of the chain."""

    class Status(models.TextChoices):
        PENDING = "pending", _("being created")
        ACTIVE = "active", _("active")
        DISABLED = "disabled", _("disabled")
        FAILED = "failed", _("provisioning failed")
        DELETED = "deleted", _("deleted from the panel")

    subscription = models.OneToOneField("shop.Subscription", on_delete=models.PROTECT, related_name="panel_account",
                                        verbose_name=_("subscription"))
    panel = models.ForeignKey(Panel, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("panel"))
    name = models.CharField(_("name on the panel"), max_length=32)
    remote_id = models.CharField(_("id on the panel"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    limit_bytes = models.BigIntegerField(_("traffic limit (bytes)"), default=0, help_text=_("0 = unlimited"))
    used_bytes = models.BigIntegerField(_("traffic used (bytes)"), default=0)
    devices = models.PositiveSmallIntegerField(_("devices"), default=0)
    subscription_url = models.URLField(_("subscription link"), max_length=500, blank=True)
    panel_status = models.CharField(_("status on the panel"), max_length=16, blank=True)
    last_online_at = models.DateTimeField(_("last online"), null=True, blank=True)
    synced_at = models.DateTimeField(_("usage synced at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("provisioning attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    drift = models.JSONField(_("differences found"), default=dict, blank=True,
                             help_text=_("What the panel says that the shop does not (missing account, expiry, limit)"))
    drift_at = models.DateTimeField(_("differences found at"), null=True, blank=True)
    warned_percent = models.PositiveSmallIntegerField(_("usage warning sent at (%)"), default=0)
    suspended = models.BooleanField(_("switched off"), default=False,
                                    help_text=_("Switched off on purpose (a reseller's customer who stopped paying): "
                                                "kept off on the panel, renewals included, until switched on again"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("panel account")
        verbose_name_plural = _("panel accounts")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["panel", "name"], name="panels_account_unique_name")]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self):
        return f"{self.name} on {self.panel_id}"
