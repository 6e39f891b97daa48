"""Settings of the discounts app, read from the environment (listed in .env.example)."""

from vpnbot.settings_env import env

ENABLE_SMART_DISCOUNTS = env.bool("ENABLE_SMART_DISCOUNTS", default=True)
# A percent (5 = 5%) of the paid amount credited back where no CashbackRule matches; 0 disables.
DEFAULT_CASHBACK_PERCENT = env.float("DEFAULT_CASHBACK_PERCENT", default=5)
# Days between payment and the default cashback credit (0 = at once).
DEFAULT_CASHBACK_DELAY_DAYS = env.int("DEFAULT_CASHBACK_DELAY_DAYS", default=0)
# The price never drops below this percent of the list price, whatever discounts apply.
MIN_PRICE_PERCENT = env.float("MIN_PRICE_PERCENT", default=0)
# Loyalty levels by lifetime spend (Toman): "silver:2000000,gold:10000000,platinum:30000000"; bronze starts at 0.
LOYALTY_THRESHOLDS = env("LOYALTY_THRESHOLDS", default="silver:2000000,gold:10000000,platinum:30000000")
# A customer may change their birth month at most once per this many days.
BIRTHDAY_CHANGE_DAYS = env.int("BIRTHDAY_CHANGE_DAYS", default=180)
