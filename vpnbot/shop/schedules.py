SCHEDULES = [
    {"name": "shop: expire subscriptions", "task": "vpnbot.shop.tasks.expire_subscriptions", "every": 60},
]
