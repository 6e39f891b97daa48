"""System checks of the payments app: a provider switched on needs what it cannot work without."""

from django.conf import settings
from django.core import checks


@checks.register()
def provider_settings(app_configs=None, **kwargs):
    problems = []
    gateways = settings.ZARINPAL_MERCHANT_ID or (settings.NOWPAYMENTS_API_KEY and settings.NOWPAYMENTS_IPN_SECRET)
    if gateways and not settings.PUBLIC_BASE_URL.startswith("https://") and not settings.DEBUG:
        problems.append(checks.Warning(
            "PUBLIC_BASE_URL is not an https:// address: Zarinpal and NowPayments cannot call the shop back",
            hint="set PUBLIC_BASE_URL in .env (see docs/payments.md)", id="payments.W001"))
    if settings.NOWPAYMENTS_API_KEY and not settings.NOWPAYMENTS_IPN_SECRET:
        problems.append(checks.Warning("NOWPAYMENTS_API_KEY is set without NOWPAYMENTS_IPN_SECRET: NowPayments stays "
                                       "off (its callbacks could not be verified)", id="payments.W002"))
    if settings.NOWPAYMENTS_API_KEY and settings.NOWPAYMENTS_RATE <= 0:
        problems.append(checks.Warning("NOWPAYMENTS_RATE is not set: NowPayments stays off (no price in USD)",
                                       id="payments.W003"))
    if settings.STARS_PER_UNIT <= 0:
        problems.append(checks.Error("STARS_PER_UNIT must be more than 0", id="payments.E001"))
    if settings.ZARINPAL_RIALS_PER_UNIT <= 0:
        problems.append(checks.Error("ZARINPAL_RIALS_PER_UNIT must be more than 0", id="payments.E002"))
    return problems
