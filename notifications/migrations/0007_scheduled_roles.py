"""Scheduled messages in the shop's roles: Owner may schedule, edit and cancel them (and everything
else about them); Accountant reads them, as it reads everything; Support does not send to many."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ["scheduledmessage", "scheduledoccurrence", "scheduledbatch", "scheduledpin"]


def grant(apps, schema_editor):
    config = apps.get_app_config("notifications")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="notifications", content_type__model__in=MODELS)
    for name, only_view in (("Owner", False), ("Accountant", True)):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*(ours.filter(codename__startswith="view_") if only_view else ours))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0006_scheduled_messages"), ("core", "0001_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
