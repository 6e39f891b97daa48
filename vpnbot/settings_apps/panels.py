"""Settings of the panels app, read from the environment (listed in .env.example)."""

from vpnbot.settings_env import env

# Fernet key (urlsafe base64, 32 bytes) that encrypts panel passwords and tokens at rest;
# empty = derived from SECRET_KEY (changing SECRET_KEY then makes the stored secrets unreadable).
PANEL_ENCRYPTION_KEY = env("PANEL_ENCRYPTION_KEY", default="")
# Days after expiry when an account is deleted from its panel (0 = only disabled, never deleted).
PANEL_DELETE_AFTER_DAYS = env.int("PANEL_DELETE_AFTER_DAYS", default=0)
# Seconds between usage syncs of every panel.
PANEL_SYNC_INTERVAL = env.int("PANEL_SYNC_INTERVAL", default=600)
# Prefix of the accounts' names on the panels (several shops may share one panel).
PANEL_ACCOUNT_PREFIX = env("PANEL_ACCOUNT_PREFIX", default="vs")
# Provisioning: attempts of the task (with growing waits) before the admins are told.
PANEL_PROVISION_MAX_RETRIES = env.int("PANEL_PROVISION_MAX_RETRIES", default=6)
# Usage warnings, in percent of the traffic limit (each once per subscription period).
PANEL_TRAFFIC_WARNINGS = [int(x) for x in env.list("PANEL_TRAFFIC_WARNINGS", default=["80", "95"])]
# One free trial per customer.
TRIAL_ENABLED = env.bool("TRIAL_ENABLED", default=False)
TRIAL_DAYS = env.int("TRIAL_DAYS", default=1)
TRIAL_TRAFFIC_GB = env.int("TRIAL_TRAFFIC_GB", default=1)  # 0 = unlimited
# The plan whose panels host the trials (its device limit is used; it need not be on sale); 0 = none.
TRIAL_PLAN_ID = env.int("TRIAL_PLAN_ID", default=0)
