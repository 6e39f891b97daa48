"""The discounts' periodic jobs, written to django-celery-beat after every migrate: crediting
due cashback, and recounting the discount profiles left stale while the feature was off."""

SCHEDULES = [
    {"name": "discounts: credit due cashback", "task": "discounts.tasks.credit_due_cashback", "every": 600},
    {"name": "discounts: catch up stale discount profiles", "task": "discounts.tasks.profiles_catch_up", "every": 3600},
]
