"""The shop's roles, as Django groups an owner gives to staff users (Admin -> Users -> Groups):

- Support: reads customers, orders, top-ups, subscriptions and their messages; approves or
  rejects receipts; pastes configs. Touches no money otherwise, sends no broadcast.
- Accountant: reads everything (the reports come with the reports app); changes nothing.
- Owner: every permission there is.

An app that adds a named permission later grants it to the roles in a migration of its own.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PROJECT_APPS = ("shop", "discounts", "crm", "backups", "notifications", "telegram")
SUPPORT = [
    "shop.view_customer", "shop.view_order", "shop.view_payment", "shop.view_subscription", "shop.view_plan",
    "shop.view_wallettransaction", "shop.view_referralreward", "shop.review_payment", "shop.change_subscription",
    "notifications.view_notification", "notifications.view_notificationlog",
    "crm.view_userprofile", "crm.view_useractivity", "crm.view_customerjourney",
    "discounts.view_smartdiscount", "discounts.view_discountusage",
]


def _permissions(apps, names):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def create_roles(apps, schema_editor):
    # permissions are made after migrate (post_migrate): make them now so the roles can hold them
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.get_or_create(name="Support")
    support.permissions.add(*_permissions(apps, SUPPORT))
    accountant, _ = Group.objects.get_or_create(name="Accountant")
    accountant.permissions.add(*Permission.objects.filter(content_type__app_label__in=PROJECT_APPS,
                                                          codename__startswith="view_"))
    owner, _ = Group.objects.get_or_create(name="Owner")
    owner.permissions.add(*Permission.objects.all())


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Support", "Accountant", "Owner"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("shop", "0004_permissions"),
        ("discounts", "0002_verbose_names"),
        ("crm", "0004_permissions"),
        ("backups", "0004_permissions"),
        ("notifications", "0003_permissions"),
        ("telegram", "0002_verbose_names"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
