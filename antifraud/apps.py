"""The anti-fraud app: registers its risk check with the shop, its ban gate with the transport,
and fingerprints receipts on the shop's topup_submitted event."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AntifraudConfig(AppConfig):
    name = "antifraud"
    verbose_name = _("Anti-fraud")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from vpnbot.shop import events, risk
        from vpnbot.transport import permissions

        from . import receivers, rules, services
        from .models import RiskRule

        risk.register_risk_check(services.risk_check)
        permissions.register_gate(services.ban_gate)
        permissions.register_refusal(services.ban_refusal)
        events.subscribe("topup_submitted", receivers.on_topup_submitted)
        post_save.connect(rules.forget_rules, sender=RiskRule, dispatch_uid="antifraud-rules-saved")
        post_delete.connect(rules.forget_rules, sender=RiskRule, dispatch_uid="antifraud-rules-deleted")
