SCHEDULES = [
    {"name": "discounts: credit due cashback", "task": "discounts.tasks.credit_due_cashback", "every": 600},
]
