"""The new models' permissions in the roles: Owner gets all of them, Accountant and Support
read traffic packs, traffic purchases and trials (only Owner sets what is on sale)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ = ["view_trafficpack", "view_trafficpurchase", "view_trial"]
MODELS = ["trafficpack", "trafficpurchase", "trial"]


def grant(apps, schema_editor):
    config = apps.get_app_config("shop")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="shop", content_type__model__in=MODELS)
    for name, codenames in (("Owner", None), ("Accountant", READ), ("Support", READ)):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*(ours if codenames is None else ours.filter(codename__in=codenames)))


class Migration(migrations.Migration):
    dependencies = [("shop", "0007_traffic_packs_and_trials"), ("core", "0001_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
