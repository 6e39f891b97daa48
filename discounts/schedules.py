SCHEDULES = [
    {"name": "discounts: credit due cashback", "task": "discounts.tasks.credit_due_cashback", "every": 600},
    {"name": "discounts: catch up stale discount profiles", "task": "discounts.tasks.profiles_catch_up", "every": 3600},
]
