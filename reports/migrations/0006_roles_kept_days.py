"""The kept days in the shop's roles: Owner and Accountant may read them in the admin (as the
reconciliation runs); Support may not see the money."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ = ["view_rollupday"]


def grant(apps, schema_editor):
    config = apps.get_app_config("reports")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="reports", codename__in=READ)
    for name in ("Owner", "Accountant"):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*ours)


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_cohorts"), ("core", "0001_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
