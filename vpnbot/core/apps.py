"""The core app: writes the default beat schedules after every migrate."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "vpnbot.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from . import checks, schedules  # noqa: F401  (checks registers itself)

        post_migrate.connect(schedules.after_migrate, sender=self, dispatch_uid="core-ensure-schedules")
