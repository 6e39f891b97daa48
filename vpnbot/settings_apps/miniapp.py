"""Settings of the Mini App, read from the environment (listed in .env.example)."""

from vpnbot.settings_env import env

# The customers' Mini App under /app/ (and the bot's menu button that opens it).
MINIAPP_ENABLED = env.bool("MINIAPP_ENABLED", default=True)
# initData older than this (seconds since its auth_date) is refused.
MINIAPP_INITDATA_MAX_AGE = env.int("MINIAPP_INITDATA_MAX_AGE", default=86400)
