"""Settings of the reports app, read from the environment (listed in .env.example)."""

from vpnbot.settings_env import env

# Reports: the owner's dashboard, /financial_report, the daily report, reconciliation (docs/reports.md).
ENABLE_REPORTS = env.bool("ENABLE_REPORTS", default=True)
# A subscription that ended and was not renewed, nor anything bought, within this many days is churned.
REPORTS_CHURN_DAYS = env.int("REPORTS_CHURN_DAYS", default=14)
# The daily report's local time (HH:MM, the shop's TIME_ZONE); it covers the day before.
REPORTS_DAILY_AT = env("REPORTS_DAILY_AT", default="09:00")
# Where the daily report goes: a chat or channel id; empty = every admin.
REPORTS_DAILY_CHAT_ID = env("REPORTS_DAILY_CHAT_ID", default="")
# A report of a period with more ledger rows than this carries the latest full reconciliation run
# (nightly) instead of checking the period's rows while the report waits (minutes on a big shop).
REPORTS_LIVE_RECONCILE_ROWS = env.int("REPORTS_LIVE_RECONCILE_ROWS", default=200_000)
