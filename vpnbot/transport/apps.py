from django.apps import AppConfig


class TelegramConfig(AppConfig):
    name = "vpnbot.transport"
    label = "telegram"
    verbose_name = "Telegram transport"

    def ready(self):
        from vpnbot import i18n

        i18n.compile_catalogs()

        from django.db.models.signals import post_migrate

        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(**kwargs):
    from django.apps import apps

    from vpnbot.schedules import ensure_schedules

    if apps.is_installed("django_celery_beat"):
        ensure_schedules()
