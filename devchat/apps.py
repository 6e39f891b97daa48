from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class DevchatConfig(AppConfig):
    name = "devchat"
    verbose_name = gettext_lazy("Local chat and demo data")
