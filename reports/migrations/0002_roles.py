"""The reports in the shop's roles: Owner and Accountant may read the financial reports (the
dashboard's figures, /financial_report, the reports API and exports) and the reconciliation
runs; Support may not see the money."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ = ["view_reports", "view_reconciliationrun"]


def grant(apps, schema_editor):
    config = apps.get_app_config("reports")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="reports")
    for name, codenames in (("Owner", None), ("Accountant", READ)):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*(ours if codenames is None else ours.filter(codename__in=codenames)))


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial"), ("core", "0001_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
