"""The anti-fraud's permissions in the shop's roles: Owner gets all of them (release or confirm
held cases, ban and unban, tune the rules, the whitelist); Accountant and Support read the
cases, the decisions, the bans, the rules and the whitelist (Support answers the customers a
hold or a ban concerns), and decide nothing."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ = ["view_riskcase", "view_riskdecision", "view_ban", "view_riskrule", "view_whitelist",
        "view_receiptfingerprint", "view_receiptphoto"]


def grant(apps, schema_editor):
    config = apps.get_app_config("antifraud")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="antifraud")
    for name, codenames in (("Owner", None), ("Accountant", READ), ("Support", READ)):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*(ours if codenames is None else ours.filter(codename__in=codenames)))


class Migration(migrations.Migration):
    dependencies = [("antifraud", "0002_default_rules"), ("core", "0001_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
