"""The panels app: registers its provisioner with the shop and subscribes to the shop's events."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PanelsConfig(AppConfig):
    name = "panels"
    verbose_name = _("VPN panels")
