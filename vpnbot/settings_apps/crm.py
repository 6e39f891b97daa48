"""Settings of the crm app, read from the environment (listed in .env.example)."""

from vpnbot.settings_env import env

ENABLE_CRM = env.bool("ENABLE_CRM", default=True)
# Seconds between two recomputes of every profile (the beat job).
CRM_UPDATE_INTERVAL = env.int("CRM_UPDATE_INTERVAL", default=3600)
# Segment thresholds (see docs/crm.md).
CRM_NEW_DAYS = env.int("CRM_NEW_DAYS", default=7)
CRM_DORMANT_DAYS = env.int("CRM_DORMANT_DAYS", default=30)
CRM_AT_RISK_DAYS = env.int("CRM_AT_RISK_DAYS", default=5)
CRM_CHURN_GRACE_DAYS = env.int("CRM_CHURN_GRACE_DAYS", default=14)
CRM_HIGH_VALUE_AMOUNT = env.int("CRM_HIGH_VALUE_AMOUNT", default=2_000_000)
CRM_VIP_MIN_RFM = env.int("CRM_VIP_MIN_RFM", default=13)
CRM_LOYAL_MIN_ORDERS = env.int("CRM_LOYAL_MIN_ORDERS", default=4)
CRM_WON_BACK_DAYS = env.int("CRM_WON_BACK_DAYS", default=30)
# Personalized offers made by the recompute.
CRM_AUTO_OFFERS = env.bool("CRM_AUTO_OFFERS", default=True)
CRM_RENEWAL_OFFER_BP = env.int("CRM_RENEWAL_OFFER_BP", default=1500)
CRM_RENEWAL_OFFER_HOURS = env.int("CRM_RENEWAL_OFFER_HOURS", default=72)
CRM_WINBACK_OFFER_BP = env.int("CRM_WINBACK_OFFER_BP", default=2000)
CRM_WINBACK_OFFER_HOURS = env.int("CRM_WINBACK_OFFER_HOURS", default=168)
CRM_VIP_CASHBACK_BP = env.int("CRM_VIP_CASHBACK_BP", default=1000)
CRM_VIP_CASHBACK_DAYS = env.int("CRM_VIP_CASHBACK_DAYS", default=30)
# Campaigns: a paid order within this many days of the message counts as a conversion.
CRM_CONVERSION_DAYS = env.int("CRM_CONVERSION_DAYS", default=7)
