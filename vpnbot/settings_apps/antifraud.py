"""Settings of the anti-fraud app, read from the environment (listed in .env.example). The rules
themselves (on/off, scores, thresholds) are edited in the admin: Risk rules."""

from vpnbot.settings_env import env

# Anti-fraud: the risk checks, holds, bans and the daily summary (docs/antifraud.md).
ENABLE_ANTIFRAUD = env.bool("ENABLE_ANTIFRAUD", default=True)
# A total score (the fired rules' scores added, at most 100) from this one is flagged for an operator...
ANTIFRAUD_FLAG_SCORE = env.int("ANTIFRAUD_FLAG_SCORE", default=30)
# ...and from this one held (no reward or trial now; a receipt or refund needs a second confirmation).
ANTIFRAUD_HOLD_SCORE = env.int("ANTIFRAUD_HOLD_SCORE", default=70)
# The largest receipt image downloaded from Telegram to fingerprint (bytes).
ANTIFRAUD_MAX_IMAGE_BYTES = env.int("ANTIFRAUD_MAX_IMAGE_BYTES", default=10 * 1024 * 1024)
# How long each process keeps the rules' settings (seconds): a change in the admin applies at once
# in the process that saved it and within this time in every other worker. 0 reads them each time.
ANTIFRAUD_RULES_CACHE_SECONDS = env.int("ANTIFRAUD_RULES_CACHE_SECONDS", default=10)
