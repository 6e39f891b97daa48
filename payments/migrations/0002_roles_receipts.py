"""The payments' permissions in the shop's roles (Owner: all; Accountant and Support: read),
and the card receipts made before this app joined the one payments list."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ = ["view_payment"]
STATUS = {"pending": "pending", "approved": "paid", "rejected": "refused"}


def grant(apps, schema_editor):
    config = apps.get_app_config("payments")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="payments")
    for name, codenames in (("Owner", None), ("Accountant", READ), ("Support", READ)):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*(ours if codenames is None else ours.filter(codename__in=codenames)))


def mirror_receipts(apps, schema_editor):
    from django.conf import settings

    Receipt = apps.get_model("shop", "Payment")
    Payment = apps.get_model("payments", "Payment")
    batch = []
    for receipt in Receipt.objects.filter(online__isnull=True).order_by("pk").iterator(chunk_size=1000):
        status = STATUS.get(receipt.status, "pending")
        batch.append(Payment(provider="card", provider_payment_id=f"receipt:{receipt.pk}", customer_id=receipt.customer_id,
                             amount=receipt.amount, currency=settings.CURRENCY[:8], provider_amount=receipt.amount,
                             receipt_id=receipt.pk, status=status, decided_by=receipt.reviewer, note=receipt.reason,
                             created_at=receipt.created_at,
                             paid_at=receipt.reviewed_at if status == "paid" else None,
                             timeline=[{"at": receipt.created_at.isoformat(timespec="seconds"),
                                        "event": "receipt submitted"}]))
        if len(batch) >= 1000:
            Payment.objects.bulk_create(batch)
            batch = []
    Payment.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial"), ("core", "0001_roles"), ("shop", "0009_plan_price_stars")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop),
                  migrations.RunPython(mirror_receipts, migrations.RunPython.noop)]
