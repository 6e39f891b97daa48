"""Settings of the resellers app, read from the environment (listed in .env.example)."""

from vpnbot.settings_env import env

# Resellers: the /reseller menu, the reseller API under /api/v1/reseller/, the admin.
ENABLE_RESELLERS = env.bool("ENABLE_RESELLERS", default=True)
# Accounts in one purchase at most.
RESELLER_MAX_BULK = env.int("RESELLER_MAX_BULK", default=100)
# Levels of sub-resellers under a reseller (1: a reseller's sub-resellers cannot invite their own).
RESELLER_MAX_DEPTH = env.int("RESELLER_MAX_DEPTH", default=1)
# The parent's commission on a new sub-reseller's purchases, in basis points (1000 = 10%).
RESELLER_DEFAULT_COMMISSION_BP = env.int("RESELLER_DEFAULT_COMMISSION_BP", default=0)
# Requests per reseller API token.
RESELLER_API_THROTTLE = env("RESELLER_API_THROTTLE", default="120/min")
