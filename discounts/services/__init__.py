"""Smart discounts and cashback (the seed's SmartDiscountService), grouped by subject; every
public name is re-exported here, so `from discounts import services` serves callers outside."""

# Bottom to top (each module imports only those below it): rules < calendars < validation,
# catalog, facts < candidates < quote < redemption, loyalty, texts < cashback < receivers.
# Reads live in discounts/selectors.py, below all of them.

from .calendars import (
    GREGORIAN_MONTHS,
    JALALI_MONTHS,
    WEEKDAYS,
    birthday_ok,
    birthday_set,
    calendar_name,
    customer_zone,
    in_hours,
    in_hours_at,
    in_season,
    month_day,
    month_names,
    parse_time,
    short_date,
)
from .candidates import cache_clear, cached, candidates, candidates_query, rule_touch
from .cashback import cashback_clawback, cashback_credit, cashback_credit_due, cashback_reverse
from .catalog import (
    cashback_rule_create,
    cashback_rule_create_personal,
    discount_create,
    discount_create_code,
    discount_delete,
    discount_set_status,
)
from .facts import Facts, condition_context, customer_facts
from .loyalty import next_level, profile_get, profile_recompute, profile_recompute_and_tell, profiles_catch_up
from .quote import (
    bulk_tier,
    cashback_for,
    choose,
    conditions_hold,
    discount_amount_on,
    discount_quote,
    excluding,
    min_total,
    select_applicable,
    within_customer_limit,
)
from .receivers import on_order_paid, on_order_refunded
from .redemption import discount_redeem, usage_release
from .rules import (
    ALL_DAYS,
    CODE_RE,
    KIND_LABELS,
    LEVELS,
    MD_RE,
    MIDNIGHT,
    TIME_RE,
    DiscountError,
    Kind,
    discount_label,
    enabled,
    level_for,
    level_label,
    loyalty_thresholds,
    value_text,
)
from .texts import available_discounts, discount_describe, list_separator
from .validation import cashback_rule_validate, check_params, discount_validate

__all__ = [
    "ALL_DAYS", "CODE_RE", "GREGORIAN_MONTHS", "JALALI_MONTHS", "KIND_LABELS", "LEVELS", "MD_RE", "MIDNIGHT", "TIME_RE",
    "WEEKDAYS", "DiscountError", "Facts", "Kind", "available_discounts", "birthday_ok", "birthday_set", "bulk_tier",
    "cache_clear", "cached", "calendar_name", "candidates", "candidates_query", "cashback_clawback", "cashback_credit",
    "cashback_credit_due", "cashback_for", "cashback_reverse", "cashback_rule_create", "cashback_rule_create_personal",
    "cashback_rule_validate", "check_params", "choose", "condition_context", "conditions_hold", "customer_facts",
    "customer_zone", "discount_amount_on", "discount_create", "discount_create_code", "discount_delete",
    "discount_describe", "discount_label", "discount_quote", "discount_redeem", "discount_set_status",
    "discount_validate", "enabled", "excluding", "in_hours", "in_hours_at", "in_season", "level_for", "level_label",
    "list_separator", "loyalty_thresholds", "min_total", "month_day", "month_names", "next_level", "on_order_paid",
    "on_order_refunded", "parse_time", "profile_get", "profile_recompute", "profile_recompute_and_tell",
    "profiles_catch_up", "rule_touch", "select_applicable", "short_date", "usage_release", "value_text",
    "within_customer_limit",
]
