"""The resellers' permissions in the shop's roles: Owner gets all of them (promote, change,
demote, tokens); Accountant and Support read resellers, their accounts, purchases, commissions
and tokens (never a key: only its first characters are kept to show)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ = ["view_reseller", "view_resellerprice", "view_account", "view_batch", "view_commission", "view_token"]


def grant(apps, schema_editor):
    config = apps.get_app_config("resellers")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="resellers")
    for name, codenames in (("Owner", None), ("Accountant", READ), ("Support", READ)):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*(ours if codenames is None else ours.filter(codename__in=codenames)))


class Migration(migrations.Migration):
    dependencies = [("resellers", "0001_initial"), ("core", "0001_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
