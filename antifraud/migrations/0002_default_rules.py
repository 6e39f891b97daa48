"""The rules with their default scores and thresholds (antifraud.rules.DEFAULTS, as they were
when this was written: later changes to the defaults do not overwrite an operator's edits)."""

from django.db import migrations

DEFAULTS = {
    "duplicate_photo": (80, {"same_customer_score": 30}),
    "similar_photo": (60, {"max_distance": 6}),
    "topup_velocity": (40, {"per_hour": 3, "per_day": 6}),
    "purchase_velocity": (30, {"per_hour": 5, "per_day": 15}),
    "new_account": (20, {"hours": 24}),
    "unusual_amount": (30, {"factor": 5, "min_history": 3}),
    "referral_burst": (70, {"count": 5, "minutes": 60}),
    "referral_no_buyers": (40, {"min_referees": 10, "max_buyer_percent": 10}),
    "referral_loop": (80, {"depth": 6}),
    "trial_new_account": (30, {"hours": 1}),
    "trial_same_referrer": (70, {"count": 3, "hours": 24}),
    "refund_used": (70, {"used_percent": 80}),
    "refund_repeat": (70, {"count": 2, "days": 90}),
}


def create(apps, schema_editor):
    RiskRule = apps.get_model("antifraud", "RiskRule")
    for key, (score, params) in DEFAULTS.items():
        RiskRule.objects.get_or_create(key=key, defaults={"score": score, "params": params, "enabled": True})


class Migration(migrations.Migration):
    dependencies = [("antifraud", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
