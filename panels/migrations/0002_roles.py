"""The panels' permissions in the shop's roles: Owner gets all of them, Accountant and Support
read panels and accounts (Support also retries provisioning, which sells nothing new)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ = ["view_panel", "view_panelaccount"]


def grant(apps, schema_editor):
    config = apps.get_app_config("panels")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="panels")
    for name, codenames in (("Owner", None), ("Accountant", READ), ("Support", [*READ, "operate_panel"])):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*(ours if codenames is None else ours.filter(codename__in=codenames)))


class Migration(migrations.Migration):
    dependencies = [("panels", "0001_initial"), ("core", "0001_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
