"""Sane bounds for every number a person sets (an operator in the admin, the API or a bot
command; a customer in the bot), so no value reaches arithmetic that overflows or makes no
sense (a 999,999,999-day plan, a 1,000 % discount). Models put these validators on their
fields: the admin's forms and the API's serializers check them, and services check them
with `check()` before writing what came from elsewhere (a bot dialog)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

# Money in the shop's unit (Toman by default): a trillion is far above any real price or
# balance and far below where a 64-bit integer (or a float in a chart) loses precision.
MAX_AMOUNT = 10**12
MAX_DAYS = 3650  # ten years: a plan's duration, a delay, a validity
MAX_HOURS = 24 * 366
MAX_TRAFFIC_GB = 100_000  # 100 TB
MAX_DEVICES = 1000
MAX_QUANTITY = 1000  # periods in one order; accounts in one bulk purchase
MAX_COUNT = 1_000_000  # limits on uses, recipients, attempts
BASIS_POINTS = 10_000  # 100 %
# A position in a list or a precedence (sort order, priority), either way: a million orders any
# list a person keeps, far inside a 32-bit column (a sort order of 10**12 fails there).
MAX_RANK = 1_000_000
# Service days bought in one order (a plan's days × periods): twelve yearly periods fit, twelve
# ten-year ones (43,800 days) do not; a plan of MAX_DAYS still sells in one or a few periods.
MAX_ORDER_DAYS = 20 * 365
# How far ahead renewals may stack a subscription's end: a century is no real purchase, and it
# keeps every expiry date (now + this + one more order) far below datetime's year 9999.
MAX_AHEAD_DAYS = 100 * 365
# A customer's own notification limits: at most this many messages a day (0 = no limit), and at
# most a week between two of them (a longer pause is switching the kind off).
MAX_DAILY_MESSAGES = 100
MAX_INTERVAL_MINUTES = 7 * 24 * 60
# A campaign's offer is valid for at most 90 days (in hours); its conversion window is counted
# for at most 90 days (orders later than that are no longer the campaign's doing).
MAX_OFFER_HOURS = 24 * 90
MAX_CONVERSION_DAYS = 90


def between(low: int, high: int) -> list:
    """Validators for a field that takes whole numbers from low to high."""
    return [MinValueValidator(low), MaxValueValidator(high)]


def amount(low: int = 0) -> list:
    return between(low, MAX_AMOUNT)


def percent_bp(low: int = 0) -> list:
    return between(low, BASIS_POINTS)


def check(instance, *fields: str) -> None:
    """Run the field validators of an unsaved model instance (all fields, or those named) and
    raise ValidationError with every message: for services writing values from a dialog."""
    exclude = [f.name for f in instance._meta.fields if fields and f.name not in fields]
    errors = {}
    try:
        instance.clean_fields(exclude=exclude)
    except ValidationError as exc:
        errors = exc.message_dict
    if errors:
        raise ValidationError(errors)
