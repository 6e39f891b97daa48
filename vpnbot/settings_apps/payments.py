"""Settings of the payments app, read from the environment (listed in .env.example). A provider
with no key is off; docs/payments.md says how to turn each on."""

from decimal import Decimal

from vpnbot.settings_env import env

# The shop's public HTTPS address: gateways send the customer back to it (callbacks).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="").rstrip("/")

# Telegram Stars (XTR): no key needed, only a switch.
STARS_ENABLED = env.bool("STARS_ENABLED", default=False)
# Stars per 1,000 of the shop's currency, for plans without a Stars price and for top-ups.
STARS_PER_UNIT = Decimal(env("STARS_PER_UNIT", default="1"))

# Zarinpal (REST v4). The merchant id switches it on.
ZARINPAL_MERCHANT_ID = env("ZARINPAL_MERCHANT_ID", default="")
ZARINPAL_SANDBOX = env.bool("ZARINPAL_SANDBOX", default=False)
# Empty = the real one (https://payment.zarinpal.com, or https://sandbox.zarinpal.com in sandbox mode).
ZARINPAL_API_URL = env("ZARINPAL_API_URL", default="").rstrip("/")
# Rials in one unit of the shop's currency: 10 when the shop counts in Toman, 1 in Rial.
ZARINPAL_RIALS_PER_UNIT = env.int("ZARINPAL_RIALS_PER_UNIT", default=10)

# NowPayments (crypto). The API key and the IPN secret switch it on.
NOWPAYMENTS_API_KEY = env("NOWPAYMENTS_API_KEY", default="")
NOWPAYMENTS_IPN_SECRET = env("NOWPAYMENTS_IPN_SECRET", default="")
NOWPAYMENTS_API_URL = env("NOWPAYMENTS_API_URL", default="https://api.nowpayments.io").rstrip("/")
# The shop's currency per US dollar (e.g. 60000 Toman = 1 USD); invoices are priced in USD.
NOWPAYMENTS_RATE = Decimal(env("NOWPAYMENTS_RATE", default="0"))

# Timeout (seconds) and attempts of every call to a payment provider.
PAYMENTS_TIMEOUT = env.float("PAYMENTS_TIMEOUT", default=15.0)
PAYMENTS_MAX_RETRIES = env.int("PAYMENTS_MAX_RETRIES", default=3)
# Reconciliation: a payment still pending this many minutes after it started is checked with
# its provider; one still unpaid after PAYMENTS_EXPIRE_HOURS is expired.
PAYMENTS_CHECK_AFTER_MINUTES = env.int("PAYMENTS_CHECK_AFTER_MINUTES", default=10)
PAYMENTS_EXPIRE_HOURS = env.int("PAYMENTS_EXPIRE_HOURS", default=24)
