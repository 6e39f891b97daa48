"""Every rule a discount or a cashback rule must satisfy, with messages naming the field: the
admin, the API and the bot all refuse bad input through these (the models' clean() too)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from vpnbot.core import bounds

from .. import conditions, selectors
from ..models import CashbackRule, SmartDiscount
from .calendars import parse_time
from .rules import CODE_RE, LEVELS, MD_RE, Kind


def _check_value(percent_bp, fixed_amount, where: str = "") -> None:
    if (percent_bp is None) == (fixed_amount is None):
        raise ValidationError(_("%(where)sGive either a percentage or a fixed amount.") % {"where": where})
    if percent_bp is not None and (isinstance(percent_bp, bool) or not isinstance(percent_bp, int)
                                   or not 1 <= percent_bp <= bounds.BASIS_POINTS):
        raise ValidationError(_("%(where)sThe percentage must be between 0.01%% and 100%%.") % {"where": where})
    if fixed_amount is not None and (isinstance(fixed_amount, bool) or not isinstance(fixed_amount, int) or fixed_amount < 1):
        raise ValidationError(_("%(where)sThe fixed amount must be a positive whole number.") % {"where": where})
    if fixed_amount is not None and fixed_amount > bounds.MAX_AMOUNT:
        raise ValidationError(_("%(where)sThe fixed amount must be at most %(max)s.")
                              % {"where": where, "max": f"{bounds.MAX_AMOUNT:,}"})


def _check_tiers(tiers, key_name: str) -> None:
    if not isinstance(tiers, list) or not tiers:
        raise ValidationError(_("params.tiers: give at least one tier."))
    seen = set()
    for i, tier in enumerate(tiers):
        where = f"params.tiers[{i}]: "
        if not isinstance(tier, dict):
            raise ValidationError(_("%(where)sA tier is an object like {\"min\": 3, \"percent_bp\": 500}.") % {"where": where})
        unknown = set(tier) - {"min", "percent_bp", "fixed_amount"}
        if unknown:
            raise ValidationError(_("%(where)sUnknown keys: %(keys)s.") % {"where": where, "keys": ", ".join(sorted(unknown))})
        minimum = tier.get("min")
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
            raise ValidationError(_("%(where)s'min' must be a whole number of at least 1.") % {"where": where})
        # a tier no order can reach is a mistake: an order has at most MAX_QUANTITY periods and
        # costs at most MAX_AMOUNT per period
        highest = bounds.MAX_QUANTITY if key_name == "quantity" else bounds.MAX_AMOUNT
        if minimum > highest:
            raise ValidationError(_("%(where)s'min' must be at most %(max)s.") % {"where": where, "max": f"{highest:,}"})
        if minimum in seen:
            raise ValidationError(_("%(where)sTwo tiers start at %(min)s.") % {"where": where, "min": minimum})
        seen.add(minimum)
        _check_value(tier.get("percent_bp"), tier.get("fixed_amount"), where)


def check_params(kind: str, params: dict) -> None:
    """The kind-specific settings (params) of a discount; raises ValidationError."""
    if not isinstance(params, dict):
        raise ValidationError(_("params must be an object."))
    allowed = {Kind.HOURLY: {"weekdays", "ranges"}, Kind.BULK: {"basis", "tiers"}, Kind.LOYALTY: {"levels"},
               Kind.SEASONAL: {"calendar", "from", "to"}}.get(kind, set())
    unknown = set(params) - allowed
    if unknown:
        raise ValidationError(_("params: unknown keys for this kind: %(keys)s.") % {"keys": ", ".join(sorted(unknown))})
    if kind == Kind.HOURLY:
        weekdays = params.get("weekdays", list(range(7)))
        if not isinstance(weekdays, list) or not weekdays or any(
                isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in weekdays):
            raise ValidationError(_("params.weekdays: a non-empty list of weekdays 0-6 (Monday = 0)."))
        ranges = params.get("ranges")
        if not isinstance(ranges, list) or not ranges:
            raise ValidationError(_("params.ranges: give at least one time range like [\"20:00\", \"23:00\"]."))
        for i, pair in enumerate(ranges):
            try:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError(pair)
                start, end = parse_time(pair[0]), parse_time(pair[1])
            except ValueError:
                raise ValidationError(_("params.ranges[%(i)s]: a range is [\"HH:MM\", \"HH:MM\"].") % {"i": i}) from None
            if start == end:
                raise ValidationError(_("params.ranges[%(i)s]: the start and the end must differ.") % {"i": i})
    elif kind == Kind.BULK:
        if params.get("basis", "quantity") not in ("quantity", "amount"):
            raise ValidationError(_("params.basis: quantity or amount."))
        _check_tiers(params.get("tiers"), params.get("basis", "quantity"))
    elif kind == Kind.LOYALTY:
        levels = params.get("levels")
        if not isinstance(levels, list) or not levels or any(level not in LEVELS for level in levels):
            raise ValidationError(_("params.levels: a non-empty list from bronze, silver, gold, platinum."))
    elif kind == Kind.SEASONAL:
        if params.get("calendar", "jalali") not in ("jalali", "gregorian"):
            raise ValidationError(_("params.calendar: jalali or gregorian."))
        for key in ("from", "to"):
            match = MD_RE.match(str(params.get(key, "")))
            if not match or not 1 <= int(match.group(1)) <= 12 or not 1 <= int(match.group(2)) <= 31:
                raise ValidationError(_("params.%(key)s: a month and day like \"12-25\".") % {"key": key})


def discount_validate(discount: SmartDiscount) -> None:
    """Every rule a discount must satisfy; raises ValidationError naming the field."""
    errors: dict[str, list] = {}

    def add(name, exc):
        errors.setdefault(name, []).extend(exc.messages if isinstance(exc, ValidationError) else [str(exc)])

    if discount.kind not in Kind.values:
        add("kind", ValidationError(_("Unknown kind.")))
    elif discount.kind == Kind.BULK:
        if discount.percent_bp is not None or discount.fixed_amount is not None:
            add("percent_bp", ValidationError(_("A bulk discount takes its values from its tiers.")))
    else:
        try:
            _check_value(discount.percent_bp, discount.fixed_amount)
        except ValidationError as exc:
            add("percent_bp", exc)
    if discount.kind in Kind.values:
        try:
            check_params(discount.kind, discount.params if discount.params is not None else {})
        except ValidationError as exc:
            add("params", exc)
    try:
        conditions.validate(discount.conditions or {})
    except ValidationError as exc:
        add("conditions", exc)
    if discount.kind == Kind.CODE:
        if not discount.code or not CODE_RE.match(discount.code):
            add("code", ValidationError(_("A code is 1-32 letters, digits, _ or -.")))
    elif discount.code:
        add("code", ValidationError(_("Only a promo-code discount has a code.")))
    if discount.code:
        discount.code = discount.code.upper()
        if selectors.code_taken(discount.code, exclude_pk=discount.pk):
            add("code", ValidationError(_("This code is already used by another discount.")))
    if discount.ends_at and discount.starts_at and discount.ends_at <= discount.starts_at:
        add("ends_at", ValidationError(_("The end must be after the start.")))
    if discount.max_uses is not None and discount.max_uses < 1:
        add("max_uses", ValidationError(_("The use limit must be at least 1 (or empty for unlimited).")))
    if discount.max_uses is not None and discount.pk is not None:
        used = max([discount.used_count or 0] + list(
            SmartDiscount.objects.filter(pk=discount.pk).values_list("used_count", flat=True)))
        if discount.max_uses < used:
            add("max_uses", ValidationError(
                _("This discount was already used %(used)s times: the use limit cannot be lower.") % {"used": used}))
    if discount.per_customer_limit is not None and discount.per_customer_limit < 1:
        add("per_customer_limit", ValidationError(_("The per-customer limit must be at least 1 (or empty).")))
    if errors:
        raise ValidationError(errors)


def cashback_rule_validate(rule: CashbackRule) -> None:
    errors = {}
    try:
        _check_value(rule.percent_bp, rule.fixed_amount)
    except ValidationError as exc:
        errors["percent_bp"] = exc.messages
    try:
        conditions.validate(rule.conditions or {})
    except ValidationError as exc:
        errors["conditions"] = exc.messages
    if rule.ends_at and rule.starts_at and rule.ends_at <= rule.starts_at:
        errors["ends_at"] = [_("The end must be after the start.")]
    if errors:
        raise ValidationError(errors)
