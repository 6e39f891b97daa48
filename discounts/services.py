"""Smart discounts and cashback: validation, the quote engine plugged into the shop's
price_quote, redemption in the checkout transaction, cashback, loyalty profiles, birthdays
and statistics (the seed's SmartDiscountService)."""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import secrets
import threading
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import jdatetime
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vpnbot.shop import messaging, pricing
from vpnbot.shop.models import Customer, Order
from vpnbot.shop.services import QuoteChanged, ShopError, money, wallet_apply

from . import conditions
from .models import CashbackRule, CashbackTransaction, DiscountUsage, SmartDiscount, UserDiscountProfile

log = logging.getLogger(__name__)
Kind = SmartDiscount.Kind
KIND_LABELS = dict(Kind.choices)
LEVELS = ("bronze", "silver", "gold", "platinum")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$|^24:00$")
MD_RE = re.compile(r"^(\d{1,2})-(\d{1,2})$")
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)
MIDNIGHT = time(0, 0)
_excluded: contextvars.ContextVar[frozenset] = contextvars.ContextVar("discounts_excluded", default=frozenset())

JALALI_MONTHS = [gettext_lazy("Farvardin"), gettext_lazy("Ordibehesht"), gettext_lazy("Khordad"), gettext_lazy("Tir"),
                 gettext_lazy("Mordad"), gettext_lazy("Shahrivar"), gettext_lazy("Mehr"), gettext_lazy("Aban"),
                 gettext_lazy("Azar"), gettext_lazy("Dey"), gettext_lazy("Bahman"), gettext_lazy("Esfand")]
GREGORIAN_MONTHS = [gettext_lazy("January"), gettext_lazy("February"), gettext_lazy("March"), gettext_lazy("April"),
                    gettext_lazy("May"), gettext_lazy("June"), gettext_lazy("July"), gettext_lazy("August"),
                    gettext_lazy("September"), gettext_lazy("October"), gettext_lazy("November"), gettext_lazy("December")]
WEEKDAYS = [gettext_lazy("Mon"), gettext_lazy("Tue"), gettext_lazy("Wed"), gettext_lazy("Thu"), gettext_lazy("Fri"),
            gettext_lazy("Sat"), gettext_lazy("Sun")]


class DiscountError(ShopError):
    """A refusal with a message for the person who asked."""


def enabled() -> bool:
    return bool(settings.ENABLE_SMART_DISCOUNTS)


# --- time and calendars ----------------------------------------------------------------------

def customer_zone(customer: Customer | None) -> zoneinfo.ZoneInfo:
    name = customer.tz_name if customer is not None else settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def calendar_name(value: str | None = None) -> str:
    value = value or settings.CALENDAR
    return "gregorian" if value == "gregorian" else "jalali"


@functools.lru_cache(maxsize=4096)
def month_day(day: date, calendar: str) -> tuple[int, int, int]:
    """(year, month, day) of a local date in the calendar."""
    if calendar_name(calendar) == "jalali":
        j = jdatetime.date.fromgregorian(date=day)
        return j.year, j.month, j.day
    return day.year, day.month, day.day


def month_names(calendar: str | None = None) -> list:
    return JALALI_MONTHS if calendar_name(calendar) == "jalali" else GREGORIAN_MONTHS


# --- loyalty levels -----------------------------------------------------------------------------

def loyalty_thresholds() -> list[tuple[str, int]]:
    """[("bronze", 0), ("silver", N), ...] from settings.LOYALTY_THRESHOLDS, ascending."""
    result = {"bronze": 0}
    for part in str(settings.LOYALTY_THRESHOLDS or "").split(","):
        if ":" not in part:
            continue
        name, _sep, amount = part.partition(":")
        name = name.strip().lower()
        if name in LEVELS and amount.strip().isdigit():
            result[name] = int(amount.strip())
    return sorted(result.items(), key=lambda item: (item[1], LEVELS.index(item[0])))


def level_for(spend: int) -> str:
    level = "bronze"
    for name, threshold in loyalty_thresholds():
        if spend >= threshold:
            level = name
    return level


def level_label(level: str) -> str:
    return str(dict(UserDiscountProfile.Level.choices).get(level, level))


# --- validation -------------------------------------------------------------------------------

def _check_value(percent_bp, fixed_amount, where: str = "") -> None:
    if (percent_bp is None) == (fixed_amount is None):
        raise ValidationError(_("%(where)sGive either a percentage or a fixed amount.") % {"where": where})
    if percent_bp is not None and (isinstance(percent_bp, bool) or not isinstance(percent_bp, int) or not 1 <= percent_bp <= 10000):
        raise ValidationError(_("%(where)sThe percentage must be between 0.01%% and 100%%.") % {"where": where})
    if fixed_amount is not None and (isinstance(fixed_amount, bool) or not isinstance(fixed_amount, int) or fixed_amount < 1):
        raise ValidationError(_("%(where)sThe fixed amount must be a positive whole number.") % {"where": where})


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
        if minimum in seen:
            raise ValidationError(_("%(where)sTwo tiers start at %(min)s.") % {"where": where, "min": minimum})
        seen.add(minimum)
        _check_value(tier.get("percent_bp"), tier.get("fixed_amount"), where)


def _parse_time(value) -> time:
    if not isinstance(value, str) or not TIME_RE.match(value.strip()):
        raise ValueError(value)
    if value.strip() == "24:00":
        return time(0, 0)
    hour, minute = value.strip().split(":")
    return time(int(hour), int(minute))


def _check_params(kind: str, params: dict) -> None:
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
                start, end = _parse_time(pair[0]), _parse_time(pair[1])
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
            _check_params(discount.kind, discount.params if discount.params is not None else {})
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
        clash = SmartDiscount.objects.filter(code=discount.code).exclude(pk=discount.pk).exists()
        if clash:
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


# --- creating and managing discounts -------------------------------------------------------------

def discount_create(*, kind: str, percent_bp: int | None = None, fixed_amount: int | None = None,
                    cap_amount: int | None = None, params: dict | None = None, conditions_tree: dict | None = None,
                    code: str | None = None, customer: Customer | None = None, starts_at: datetime | None = None,
                    ends_at: datetime | None = None, max_uses: int | None = None, per_customer_limit: int | None = 1,
                    priority: int = 0, stackable: bool = False, title: str = "", source: str = "admin",
                    created_by: str = "") -> SmartDiscount:
    discount = SmartDiscount(
        kind=kind, percent_bp=percent_bp, fixed_amount=fixed_amount, cap_amount=cap_amount, params=params or {},
        conditions=conditions_tree or {}, code=(code or None), customer=customer, starts_at=starts_at or timezone.now(),
        ends_at=ends_at, max_uses=max_uses, per_customer_limit=per_customer_limit, priority=priority,
        stackable=stackable, title=(title or "")[:100], source=source[:20], created_by=created_by[:100])
    discount.full_clean()
    try:
        with transaction.atomic():
            discount.save()
    except IntegrityError:
        raise ValidationError({"code": [_("This code is already used by another discount.")]}) from None
    return discount


def _new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _i in range(8))


def discount_create_code(*, label: str, percent_bp: int | None = None, fixed_amount: int | None = None,
                         cap_amount: int | None = None, valid_until, customer=None, max_uses: int = 1,
                         per_customer_limit: int = 1, code: str | None = None, source: str = "crm") -> SmartDiscount:
    """A promo-code discount; with `customer`, a personal code only they can use. A unique
    code is generated when none is given."""
    if code is not None:
        return discount_create(kind=Kind.CODE, percent_bp=percent_bp, fixed_amount=fixed_amount, cap_amount=cap_amount,
                               code=code, customer=customer, ends_at=valid_until, max_uses=max_uses,
                               per_customer_limit=per_customer_limit, title=label, source=source)
    for _attempt in range(10):
        try:
            return discount_create(kind=Kind.CODE, percent_bp=percent_bp, fixed_amount=fixed_amount,
                                   cap_amount=cap_amount, code=_new_code(), customer=customer, ends_at=valid_until,
                                   max_uses=max_uses, per_customer_limit=per_customer_limit, title=label, source=source)
        except ValidationError as exc:
            if "code" not in getattr(exc, "error_dict", {}):
                raise
    raise DiscountError(_("Could not generate a unique code; try again."))


def cashback_rule_create(*, percent_bp: int | None = None, fixed_amount: int | None = None, cap_amount: int | None = None,
                         min_amount: int = 0, plans=(), conditions_tree: dict | None = None, customer=None,
                         delay_days: int = 0, starts_at: datetime | None = None, ends_at: datetime | None = None,
                         title: str = "", source: str = "admin") -> CashbackRule:
    rule = CashbackRule(percent_bp=percent_bp, fixed_amount=fixed_amount, cap_amount=cap_amount, min_amount=min_amount,
                        conditions=conditions_tree or {}, customer=customer, delay_days=delay_days,
                        starts_at=starts_at or timezone.now(), ends_at=ends_at, title=(title or "")[:100], source=source[:20])
    rule.full_clean()
    with transaction.atomic():
        rule.save()
        if plans:
            rule.plans.set(plans)
    return rule


def cashback_rule_create_personal(*, customer, percent_bp: int, valid_until, label: str) -> CashbackRule:
    """A cashback rate for one customer until `valid_until` (used by the CRM's offers)."""
    return cashback_rule_create(percent_bp=percent_bp, customer=customer, ends_at=valid_until, title=label, source="crm")


def discount_set_status(*, discount_id: int, status: str) -> SmartDiscount:
    if status not in (SmartDiscount.Status.ACTIVE, SmartDiscount.Status.PAUSED):
        raise DiscountError(_("Unknown status."))
    updated = SmartDiscount.objects.filter(pk=discount_id).exclude(status=SmartDiscount.Status.ARCHIVED).update(
        status=status, updated_at=timezone.now())
    if not updated:
        raise DiscountError(_("This discount does not exist any more."))
    return SmartDiscount.objects.get(pk=discount_id)


def discount_delete(*, discount_id: int) -> str:
    """Delete a discount never used; one with uses is archived (its history stays)."""
    with transaction.atomic():
        discount = SmartDiscount.objects.select_for_update().filter(pk=discount_id).first()
        if discount is None or discount.status == SmartDiscount.Status.ARCHIVED:
            raise DiscountError(_("This discount does not exist any more."))
        if DiscountUsage.objects.filter(discount=discount).exists():
            SmartDiscount.objects.filter(pk=discount_id).update(status=SmartDiscount.Status.ARCHIVED, updated_at=timezone.now())
            return "archived"
        discount.delete()
        return "deleted"


# --- the quote engine ---------------------------------------------------------------------------

@dataclass
class Facts:
    """What the engine knows about a customer, loaded in one query."""

    paid_orders: int = 0
    last_order_at: datetime | None = None
    lifetime_spend: int = 0
    usage: dict[int, tuple[int, datetime | None]] = field(default_factory=dict)  # discount id -> (count, last use)

    @property
    def level(self) -> str:
        return level_for(self.lifetime_spend)


def _aware(value) -> datetime | None:
    """A datetime from raw SQL: aware on PostgreSQL, naive UTC on MariaDB, text on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def customer_facts(customer: Customer | None, *, with_usage: bool = True) -> Facts:
    """The customer's paid orders, spend and discount uses, in one query (the hot path)."""
    if customer is None or customer.pk is None:
        return Facts()
    from django.db import connection

    orders, usages = Order._meta.db_table, DiscountUsage._meta.db_table
    sql = (f"SELECT 0, 0, SUM(CASE WHEN status = %s THEN 1 ELSE 0 END), MAX(CASE WHEN status = %s THEN paid_at END), "
           f"SUM(paid_amount), SUM(refunded_amount) FROM {orders} WHERE customer_id = %s AND status IN (%s, %s)")
    params = [Order.Status.PAID, Order.Status.PAID, customer.pk, Order.Status.PAID, Order.Status.REFUNDED]
    if with_usage:
        sql += (f" UNION ALL SELECT 1, discount_id, COUNT(*), MAX(created_at), 0, 0 FROM {usages} "
                f"WHERE customer_id = %s AND released_at IS NULL GROUP BY discount_id")
        params.append(customer.pk)
    facts = Facts()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row_type, discount_id, count, last, paid_sum, refunded_sum in cursor.fetchall():
            if int(row_type) == 0:
                facts.paid_orders = int(count or 0)
                facts.last_order_at = _aware(last)
                facts.lifetime_spend = max(0, int(paid_sum or 0) - int(refunded_sum or 0))
            else:
                facts.usage[int(discount_id)] = (int(count), _aware(last))
    return facts


def candidates_query(*, customer: Customer | None, at: datetime, code: str = ""):
    """Every discount that could apply now, as one query: the reference that `candidates`
    (process cache + one query) must equal; see the tests."""
    qs = SmartDiscount.objects.filter(status=SmartDiscount.Status.ACTIVE, starts_at__lte=at).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=at)).filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
    qs = qs.filter(Q(customer__isnull=True) | Q(customer=customer)) if customer is not None else qs.filter(customer__isnull=True)
    code = (code or "").strip().upper()
    qs = qs.filter(Q(code__isnull=True) | Q(code=code)) if code else qs.filter(code__isnull=True)
    return qs.order_by("-priority", "id")


# The public, unlimited, code-less discounts are the many that every quote looks at, and the
# cashback rules are few: each process keeps both in memory and checks with one small query per
# quote that nothing changed (count, newest id, newest updated_at of each table). The
# personal, coded and use-limited discounts, whose counters move, are read fresh in one query.
_SHARED = Q(customer__isnull=True, code__isnull=True, max_uses__isnull=True)
_cache_lock = threading.Lock()
_cache: dict = {"key": None, "discounts": [], "rules": []}


def cache_clear(**kwargs) -> None:
    with _cache_lock:
        _cache.update(key=None, discounts=[], rules=[])


def _cache_key() -> tuple:
    from django.db import connection

    d, r = SmartDiscount._meta.db_table, CashbackRule._meta.db_table
    sql = (f"SELECT COUNT(*), MAX(id), MAX(updated_at) FROM {d} WHERE customer_id IS NULL AND code IS NULL "
           f"AND max_uses IS NULL UNION ALL SELECT COUNT(*), MAX(id), MAX(updated_at) FROM {r}")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(tuple(str(v) for v in row) for row in cursor.fetchall())


def _cached() -> dict:
    key = _cache_key()
    with _cache_lock:
        if _cache["key"] == key:
            return _cache
    discounts = list(SmartDiscount.objects.filter(_SHARED).exclude(status=SmartDiscount.Status.ARCHIVED))
    rules = list(CashbackRule.objects.filter(is_active=True).prefetch_related("plans"))
    for rule in rules:
        rule.plan_ids = frozenset(p.pk for p in rule.plans.all())
    with _cache_lock:
        _cache.update(key=key, discounts=discounts, rules=rules)
        return dict(_cache)


def candidates(*, customer: Customer | None, at: datetime, code: str = "", cache: dict | None = None) -> list[SmartDiscount]:
    """The same set as candidates_query (unordered), the shared part from the process cache."""
    active = SmartDiscount.Status.ACTIVE
    found = [d for d in (cache or _cached())["discounts"] if d.status == active and d.starts_at <= at
             and (d.ends_at is None or d.ends_at > at)]
    # Raw SQL: the ORM would spend longer composing this query than the database answering it.
    table = SmartDiscount._meta.db_table
    where = ["(customer_id IS NULL AND code IS NULL AND max_uses IS NOT NULL)"]
    params: list = [active]
    if customer is not None:
        where.append("(customer_id = %s AND code IS NULL)")
        params.append(customer.pk)
    code = (code or "").strip().upper()
    if code:
        where.append("(code = %s AND (customer_id IS NULL OR customer_id = %s))")
        params += [code, customer.pk if customer is not None else None]
    sql = f"SELECT * FROM {table} WHERE status = %s AND ({' OR '.join(where)})"
    for d in SmartDiscount.objects.raw(sql, params):
        if d.starts_at <= at and (d.ends_at is None or d.ends_at > at) and (d.max_uses is None or d.used_count < d.max_uses):
            found.append(d)
    return found


def rule_touch(instance=None, **kwargs) -> None:
    """A rule's plans changed (no save of the rule itself): mark it changed for every process."""
    if isinstance(instance, CashbackRule) and kwargs.get("action", "").startswith("post_"):
        CashbackRule.objects.filter(pk=instance.pk).update(updated_at=timezone.now())
    cache_clear()


def _ranges(discount: SmartDiscount) -> list[tuple[time, time]]:
    cached = discount.__dict__.get("_parsed_ranges")
    if cached is None:
        cached = [(_parse_time(a), _parse_time(b)) for a, b in discount.params.get("ranges", [])]
        discount.__dict__["_parsed_ranges"] = cached
    return cached


def _in_hours(discount: SmartDiscount, local: datetime) -> bool:
    return _in_hours_at(discount, local.time().replace(tzinfo=None), local.weekday())


def _in_hours_at(discount: SmartDiscount, now: time, weekday: int) -> bool:
    weekdays = discount.params.get("weekdays", ALL_DAYS)
    for start, end in _ranges(discount):
        if start < end or end == MIDNIGHT:
            if now >= start and (end == MIDNIGHT or now < end) and weekday in weekdays:
                return True
        else:  # crosses midnight: the part after midnight belongs to the day the range began
            if now >= start and weekday in weekdays:
                return True
            if now < end and (weekday - 1) % 7 in weekdays:
                return True
    return False


def _in_season(discount: SmartDiscount, local: datetime) -> bool:
    season = discount.__dict__.get("_parsed_season")
    if season is None:
        season = (calendar_name(discount.params.get("calendar")),
                  tuple(int(x) for x in discount.params["from"].split("-")),
                  tuple(int(x) for x in discount.params["to"].split("-")))
        discount.__dict__["_parsed_season"] = season
    calendar, start, end = season
    _year, month, day = month_day(local.date(), calendar)
    today = (month, day)
    return start <= today <= end if start <= end else (today >= start or today <= end)


def _birthday_ok(discount: SmartDiscount, customer: Customer, local: datetime, facts: Facts) -> bool:
    if not customer or not customer.birth_month:
        return False
    year, month, _day = month_day(local.date(), settings.CALENDAR)
    if month != customer.birth_month:
        return False
    used = facts.usage.get(discount.pk)
    if used and used[1] is not None:
        last = used[1].astimezone(local.tzinfo)
        last_year, last_month, _d = month_day(last.date(), settings.CALENDAR)
        if (last_year, last_month) == (year, month):
            return False  # once per year, in this birth month
    return True


def _conditions_hold(discount: SmartDiscount | CashbackRule, ctx: dict) -> bool:
    if not discount.conditions:
        return True
    compiled = discount.__dict__.get("_compiled_conditions")
    if compiled is None:
        compiled = discount.__dict__["_compiled_conditions"] = conditions.compile_tree(discount.conditions)
    return compiled(ctx)


def _within_customer_limit(discount: SmartDiscount, facts: Facts) -> bool:
    if discount.per_customer_limit is None:
        return True
    return facts.usage.get(discount.pk, (0, None))[0] < discount.per_customer_limit


def _bulk_tier(discount: SmartDiscount, quantity: int, amount: int) -> dict | None:
    value = amount if discount.params.get("basis", "quantity") == "amount" else quantity
    best = None
    for tier in discount.params.get("tiers", []):
        if value >= tier["min"] and (best is None or tier["min"] > best["min"]):
            best = tier
    return best


def discount_amount_on(discount: SmartDiscount, base: int, *, quantity: int, list_amount: int) -> int:
    """What this discount takes off `base` (rounded down, capped, never more than base)."""
    if discount.kind == Kind.BULK:
        tier = _bulk_tier(discount, quantity, list_amount) or {}
        percent_bp, fixed = tier.get("percent_bp"), tier.get("fixed_amount")
    else:
        percent_bp, fixed = discount.percent_bp, discount.fixed_amount
    amount = base * percent_bp // 10000 if percent_bp else (fixed or 0)
    if discount.cap_amount is not None:
        amount = min(amount, discount.cap_amount)
    return max(0, min(amount, base))


def discount_label(discount: SmartDiscount) -> str:
    if discount.kind == Kind.CODE:
        label = _("Code %(code)s") % {"code": discount.code}
    else:
        label = str(KIND_LABELS.get(discount.kind, discount.kind))
    return f"{label} «{discount.title}»" if discount.title else label


def condition_context(*, customer, plan, quantity: int, amount: int, at: datetime, facts: Facts) -> dict:
    local = at.astimezone(customer_zone(customer))
    return {"customer": customer, "plan": plan, "quantity": quantity, "amount": amount, "at": at, "local": local,
            "language": customer.effective_language if customer else settings.LANGUAGE_CODE,
            "paid_orders": facts.paid_orders, "last_order_at": facts.last_order_at,
            "joined_at": customer.joined_at if customer else None, "level": facts.level,
            "lifetime_spend": facts.lifetime_spend, "cache": {}}


def min_total(list_amount: int) -> int:
    floor_bp = int(round(float(settings.MIN_PRICE_PERCENT or 0) * 100))
    floor_bp = max(0, min(floor_bp, 10000))
    return -(-list_amount * floor_bp // 10000)


def choose(applicable: list[SmartDiscount], *, list_amount: int, quantity: int) -> list[tuple[SmartDiscount, int]]:
    """Combine deterministically: the best single non-stackable discount (ties: higher
    priority, then lower id) first, then stackable ones by priority (high first, then id),
    each on the running total; the floor is never crossed."""
    floor = min_total(list_amount)
    exclusive = [d for d in applicable if not d.stackable]
    sequence = []
    if exclusive:
        best = max(exclusive, key=lambda d: (discount_amount_on(d, list_amount, quantity=quantity, list_amount=list_amount),
                                             d.priority, -d.id))
        sequence.append(best)
    sequence += sorted((d for d in applicable if d.stackable), key=lambda d: (-d.priority, d.id))
    running, chosen = list_amount, []
    for discount in sequence:
        amount = min(discount_amount_on(discount, running, quantity=quantity, list_amount=list_amount), running - floor)
        if amount > 0:
            chosen.append((discount, amount))
            running -= amount
    return chosen


def select_applicable(found: list[SmartDiscount], *, customer, facts: Facts, local: datetime, quantity: int, amount: int,
                      ctx: dict, excluded=frozenset()) -> list[SmartDiscount]:
    """The discounts that apply (kind rule, per-customer limit, condition tree), in one tight
    loop: the quote's hot path, see bench/discounts."""
    now, weekday = local.time().replace(tzinfo=None), local.weekday()
    paid, level, usage = facts.paid_orders, facts.level, facts.usage
    birth_month = customer.birth_month if customer is not None else None
    in_birth_month = bool(birth_month) and month_day(local.date(), calendar_name())[1] == birth_month
    result = []
    for d in found:
        if d.id in excluded:
            continue
        kind = d.kind
        if kind == "birthday":
            if in_birth_month and _birthday_ok(d, customer, local, facts) and _conditions_hold(d, ctx):
                result.append(d)
            continue
        if kind == "hourly":
            if not _in_hours_at(d, now, weekday):
                continue
        elif kind == "first_purchase":
            if paid:
                continue
        elif kind == "bulk":
            if _bulk_tier(d, quantity, amount) is None:
                continue
        elif kind == "loyalty":
            if level not in d.params.get("levels", ()):
                continue
        elif kind == "seasonal":
            if not _in_season(d, local):
                continue
        limit = d.per_customer_limit
        if limit is not None and d.id in usage and usage[d.id][0] >= limit:
            continue
        if d.conditions and not _conditions_hold(d, ctx):
            continue
        result.append(d)
    return result


def discount_quote(quote, *, customer, plan, at: datetime, code: str = "") -> None:
    """The price adjuster registered with the shop's price_quote."""
    if not enabled() or customer is None:
        return
    language = customer.effective_language
    facts = customer_facts(customer)
    excluded = _excluded.get()
    local = at.astimezone(customer_zone(customer))
    ctx = condition_context(customer=customer, plan=plan, quantity=quote.quantity, amount=quote.list_amount, at=at,
                            facts=facts)
    cache = _cached()
    applicable = select_applicable(candidates(customer=customer, at=at, code=code, cache=cache), customer=customer, facts=facts,
                                   local=local, quantity=quote.quantity, amount=quote.list_amount, ctx=ctx,
                                   excluded=excluded)
    with translation.override(language):
        for discount, amount in choose(applicable, list_amount=quote.list_amount, quantity=quote.quantity):
            quote.discounts.append(pricing.AppliedDiscount(label=discount_label(discount), amount=amount,
                                                           ref=f"discount:{discount.pk}"))
            if code and discount.code and discount.code.lower() == code.lower():
                quote.code_applied = True
    rule, cashback = cashback_for(customer=customer, plan=plan, base=quote.total_amount, at=at, ctx=ctx,
                                  rules=cache["rules"])
    quote.cashback_amount = cashback
    quote.cashback_rule_id = rule.pk if rule else None


def cashback_for(*, customer, plan, base: int, at: datetime, ctx: dict, rules: list | None = None) -> tuple[CashbackRule | None, int]:
    """The best matching CashbackRule, or DEFAULT_CASHBACK_PERCENT when none matches."""
    if base <= 0:
        return None, 0
    customer_id = customer.pk if customer is not None else None
    best, best_amount = None, -1
    for rule in (rules if rules is not None else _cached()["rules"]):
        if rule.customer_id not in (None, customer_id) or rule.starts_at > at or (rule.ends_at and rule.ends_at <= at):
            continue
        if rule.min_amount > base or (rule.plan_ids and (plan is None or plan.pk not in rule.plan_ids)):
            continue
        if rule.conditions and not _conditions_hold(rule, ctx):
            continue
        amount = base * rule.percent_bp // 10000 if rule.percent_bp else min(rule.fixed_amount or 0, base)
        if rule.cap_amount is not None:
            amount = min(amount, rule.cap_amount)
        if amount > best_amount or (amount == best_amount and best is not None and rule.pk < best.pk):
            best, best_amount = rule, amount
    if best is not None:
        return best, best_amount
    percent_bp = int(round(float(settings.DEFAULT_CASHBACK_PERCENT or 0) * 100))
    return None, base * max(percent_bp, 0) // 10000


# --- redemption inside the checkout ----------------------------------------------------------------

def _requote(order, quote, exhausted: set[int]):
    token = _excluded.set(_excluded.get() | frozenset(exhausted))
    try:
        at = datetime.fromisoformat(quote.at) if quote.at else timezone.now()
        return pricing.price_quote(order.customer, order.plan, quote.quantity, at, code=quote.code)
    finally:
        _excluded.reset(token)


def discount_redeem(order, quote) -> None:
    """The redeemer registered with the shop: records each used discount (DiscountUsage),
    counts it with a conditional UPDATE, and aborts the checkout (QuoteChanged with a new
    quote) when a limit was reached meanwhile. Also books the cashback."""
    refs = []
    for applied in quote.discounts:
        if applied.ref.startswith("discount:") and applied.ref[9:].isdigit():
            refs.append((int(applied.ref[9:]), applied.amount))
    if refs:
        # The checkout already holds this lock; taken again so the per-customer limits hold
        # for any caller.
        Customer.objects.select_for_update().filter(pk=order.customer_id).first()
        discounts = {d.pk: d for d in SmartDiscount.objects.filter(pk__in=[pk for pk, _a in refs])}
        customer = order.customer
        facts = Facts(usage={row["discount_id"]: (row["n"], row["last"]) for row in
                             DiscountUsage.objects.filter(customer_id=order.customer_id, released_at__isnull=True,
                                                          discount_id__in=list(discounts))
                             .values("discount_id").annotate(n=Count("id"), last=Max("created_at")).order_by()})
        at = datetime.fromisoformat(quote.at) if quote.at else timezone.now()
        local = at.astimezone(customer_zone(customer))
        exhausted = set()
        for pk, amount in refs:
            discount = discounts.get(pk)
            if discount is None or (not _birthday_ok(discount, customer, local, facts) if discount.kind == Kind.BIRTHDAY
                                    else not _within_customer_limit(discount, facts)):
                exhausted.add(pk)
                continue
            counted = (SmartDiscount.objects.filter(pk=pk, status=SmartDiscount.Status.ACTIVE)
                       .filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
                       .update(used_count=F("used_count") + 1))
            if not counted:
                exhausted.add(pk)
                continue
            DiscountUsage.objects.create(discount_id=pk, customer_id=order.customer_id, order=order, amount=amount)
        if exhausted:
            raise QuoteChanged(_requote(order, quote, exhausted))
    if quote.cashback_amount > 0 and enabled():
        rule_id = getattr(quote, "cashback_rule_id", None)
        rule = CashbackRule.objects.filter(pk=rule_id).first() if rule_id else None
        delay = rule.delay_days if rule else settings.DEFAULT_CASHBACK_DELAY_DAYS
        CashbackTransaction.objects.get_or_create(order=order, defaults={
            "customer_id": order.customer_id, "rule": rule, "amount": quote.cashback_amount,
            "due_at": (order.paid_at or timezone.now()) + timedelta(days=max(0, delay))})


# --- cashback -----------------------------------------------------------------------------------------

def cashback_credit(*, transaction_id: int) -> bool:
    """Credit one pending cashback to the wallet, exactly once (True if this call did it)."""
    with transaction.atomic():
        updated = CashbackTransaction.objects.filter(pk=transaction_id, status=CashbackTransaction.Status.PENDING).update(
            status=CashbackTransaction.Status.CREDITED, credited_at=timezone.now())
        if not updated:
            return False
        tx = CashbackTransaction.objects.select_related("customer").get(pk=transaction_id)
        wallet_apply(customer_id=tx.customer_id, amount=tx.amount, reason="cashback", source=f"cashback:{tx.order_id}",
                     note=f"order #{tx.order_id}")
        profile_recompute(customer_id=tx.customer_id)
        amount, order_id = tx.amount, tx.order_id
        messaging.notify_customer(
            tx.customer, kind="cashback", dedup_key=f"cashback:{order_id}",
            context={"amount": amount, "order_id": order_id},
            text=lambda: _("💸 Cashback: %(amount)s for order #%(order)s was added to your wallet.")
            % {"amount": money(amount), "order": order_id})
    return True


def cashback_credit_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Credit every pending cashback whose day has come (the beat job); safe to overlap."""
    now = now or timezone.now()
    ids = list(CashbackTransaction.objects.filter(status=CashbackTransaction.Status.PENDING, due_at__lte=now)
               .order_by("due_at").values_list("pk", flat=True)[:limit])
    return sum(1 for pk in ids if cashback_credit(transaction_id=pk))


def cashback_clawback(amount: int, *, refunded: int | None, paid: int) -> int:
    """The part of a cashback of `amount` that a refund of `refunded` out of `paid` takes back:
    the same share, rounded up (in the shop's favour, as discounts and cashback are rounded
    down); all of it for a full refund or when the share is unknown."""
    if refunded is None or paid <= 0 or refunded >= paid:
        return amount
    return min(amount, -(-amount * max(0, refunded) // paid))


def cashback_reverse(*, order_id: int, refunded_amount: int | None = None) -> CashbackTransaction | None:
    """Undo the cashback of a refunded order for the share refunded (`refunded_amount` out of
    the order's paid amount; None = all of it). A pending cashback shrinks by that share (it
    is cancelled when nothing is left); a credited one is taken back from the wallet as far as
    the balance allows (never negative), the rest is recorded as unrecovered. Never more than
    the cashback still held (amount - reversed - unrecovered) is taken back, so a repeated
    call takes nothing twice."""
    with transaction.atomic():
        tx = CashbackTransaction.objects.select_for_update().filter(order_id=order_id).first()
        if tx is None:
            return None
        paid = Order.objects.filter(pk=order_id).values_list("paid_amount", flat=True).first() or 0
        claw = cashback_clawback(tx.amount, refunded=refunded_amount, paid=paid)
        now = timezone.now()
        if tx.status == CashbackTransaction.Status.PENDING:
            if claw >= tx.amount:
                CashbackTransaction.objects.filter(pk=tx.pk).update(status=CashbackTransaction.Status.CANCELLED,
                                                                    reversed_at=now)
            elif claw > 0:  # the rest is still credited on its day
                CashbackTransaction.objects.filter(pk=tx.pk).update(amount=tx.amount - claw, reversed_at=now)
        elif tx.status in (CashbackTransaction.Status.CREDITED, CashbackTransaction.Status.REVERSED):
            held = tx.amount - tx.reversed_amount - tx.unrecovered_amount
            claw = min(claw, max(0, held))
            if claw > 0:
                customer = Customer.objects.select_for_update().get(pk=tx.customer_id)
                take = min(claw, customer.balance_amount)
                # once per source: the first reversal keeps the plain source, a later one (a
                # second partial refund) is told apart by what had been clawed back before it
                source = f"cashback_reversal:{order_id}"
                if tx.reversed_amount or tx.unrecovered_amount:
                    source += f":{tx.reversed_amount + tx.unrecovered_amount}"
                if take and wallet_apply(customer_id=customer.pk, amount=-take, reason="cashback_reversal",
                                         source=source, note=f"order #{order_id} refunded") is None:
                    take = claw = 0  # this very reversal was already booked
                if claw:
                    CashbackTransaction.objects.filter(pk=tx.pk).update(
                        status=CashbackTransaction.Status.REVERSED, reversed_amount=F("reversed_amount") + take,
                        unrecovered_amount=F("unrecovered_amount") + claw - take, reversed_at=now)
        tx.refresh_from_db()
        return tx


# --- usages released on refund ----------------------------------------------------------------------

def usage_release(*, order_id: int) -> int:
    """Give back the discount uses of a refunded or cancelled order (each once)."""
    released = 0
    with transaction.atomic():
        for usage in DiscountUsage.objects.filter(order_id=order_id, released_at__isnull=True):
            if DiscountUsage.objects.filter(pk=usage.pk, released_at__isnull=True).update(released_at=timezone.now()):
                SmartDiscount.objects.filter(pk=usage.discount_id, used_count__gt=0).update(used_count=F("used_count") - 1)
                released += 1
    return released


# --- profiles -------------------------------------------------------------------------------------------

def profile_recompute(*, customer_id: int) -> tuple[UserDiscountProfile, str]:
    """Recount a customer's discount profile from their orders and cashback (idempotent).
    Returns the profile and the level it had before."""
    agg = Order.objects.filter(customer_id=customer_id, status__in=[Order.Status.PAID, Order.Status.REFUNDED]).aggregate(
        paid=Count("id", filter=Q(status=Order.Status.PAID)), paid_sum=Sum("paid_amount"),
        refunded_sum=Sum("refunded_amount"), saved=Sum("discount_amount", filter=Q(status=Order.Status.PAID)))
    cash = CashbackTransaction.objects.filter(customer_id=customer_id, status__in=[
        CashbackTransaction.Status.CREDITED, CashbackTransaction.Status.REVERSED]).aggregate(
        credited=Sum("amount"), reversed=Sum("reversed_amount"), unrecovered=Sum("unrecovered_amount"))
    spend = max(0, (agg["paid_sum"] or 0) - (agg["refunded_sum"] or 0))
    earned = max(0, (cash["credited"] or 0) - (cash["reversed"] or 0) - (cash["unrecovered"] or 0))
    values = {"level": level_for(spend), "lifetime_spend_amount": spend, "total_saved_amount": agg["saved"] or 0,
              "cashback_earned_amount": earned, "paid_orders": agg["paid"] or 0, "updated_at": timezone.now()}
    profile = UserDiscountProfile.objects.select_for_update().filter(customer_id=customer_id).first()
    if profile is None:
        try:
            with transaction.atomic():
                profile = UserDiscountProfile.objects.create(customer_id=customer_id, **values)
            return profile, "bronze"
        except IntegrityError:
            profile = UserDiscountProfile.objects.select_for_update().get(customer_id=customer_id)
    before = profile.level
    UserDiscountProfile.objects.filter(pk=profile.pk).update(**values)
    for key, value in values.items():
        setattr(profile, key, value)
    return profile, before


def _orders_since_profile(customer_id, updated_at):
    """The customer's orders paid or refunded after their profile was last counted."""
    return Order.objects.filter(customer_id=customer_id).filter(Q(paid_at__gt=updated_at) | Q(refunded_at__gt=updated_at))


def profile_get(*, customer: Customer) -> UserDiscountProfile:
    """The customer's profile, recounted first when missing or stale (orders paid while smart
    discounts were switched off are not counted by on_order_paid)."""
    profile = UserDiscountProfile.objects.filter(customer=customer).first()
    if profile is None or _orders_since_profile(customer.pk, profile.updated_at).exists():
        with transaction.atomic():
            profile, _before = profile_recompute(customer_id=customer.pk)
    return profile


def profiles_catch_up(*, limit: int = 500) -> int:
    """Recount the profiles that went stale while smart discounts were switched off (the
    beat job; does nothing while they still are): those with an order paid or refunded after
    their last count, and the customers with paid orders but no profile yet. A customer who
    reached a higher level meanwhile is told, as on_order_paid would have. Returns how many
    were recounted; safe to overlap (profile_recompute locks the row and is idempotent)."""
    if not enabled():
        return 0
    newer = _orders_since_profile(OuterRef("customer_id"), OuterRef("updated_at"))
    stale = list(UserDiscountProfile.objects.filter(Exists(newer)).order_by("updated_at")
                 .values_list("customer_id", flat=True)[:limit])
    if len(stale) < limit:
        bought = Order.objects.filter(customer_id=OuterRef("pk"), status__in=[Order.Status.PAID, Order.Status.REFUNDED])
        stale += list(Customer.objects.filter(Exists(bought), discount_profile__isnull=True).order_by("pk")
                      .values_list("pk", flat=True)[:limit - len(stale)])
    for customer_id in stale:
        with transaction.atomic():
            profile, before = profile_recompute(customer_id=customer_id)
            if LEVELS.index(profile.level) > LEVELS.index(before):
                _tell_new_level(Customer.objects.get(pk=customer_id), profile.level)
    return len(stale)


def next_level(profile: UserDiscountProfile) -> tuple[str, int] | None:
    """(next level, amount still to spend), or None at the top."""
    for name, threshold in loyalty_thresholds():
        if threshold > profile.lifetime_spend_amount:
            return name, threshold - profile.lifetime_spend_amount
    return None


def _tell_new_level(customer: Customer, level: str) -> None:
    offers = [d for d in SmartDiscount.objects.filter(kind=Kind.LOYALTY, status=SmartDiscount.Status.ACTIVE)
              if level in (d.params or {}).get("levels", [])]
    if not offers:
        return
    best = max(offers, key=lambda d: (d.percent_bp or 0, d.fixed_amount or 0))

    def text():
        return _("🏅 You reached the %(level)s level! You now get %(value)s off your purchases. See /available_discounts.") % {
            "level": level_label(level), "value": value_text(best)}

    messaging.notify_customer(customer, kind="new_discount", text=text, dedup_key=f"level:{customer.pk}:{level}",
                              context={"level": level, "discount_id": best.pk})


# --- shop events ---------------------------------------------------------------------------------------------

def on_order_paid(event) -> None:
    if not enabled() or event.customer is None:
        return
    order_id = event.payload.get("order_id")
    profile, before = profile_recompute(customer_id=event.customer.pk)
    if LEVELS.index(profile.level) > LEVELS.index(before):
        _tell_new_level(event.customer, profile.level)
    tx = CashbackTransaction.objects.filter(order_id=order_id).first()
    if tx is not None and tx.status == CashbackTransaction.Status.PENDING and tx.due_at <= timezone.now():
        cashback_credit(transaction_id=tx.pk)


def on_order_refunded(event) -> None:
    order_id = event.payload.get("order_id")
    usage_release(order_id=order_id)
    # order_refund may give back only part of what was paid (prorata): take back that share
    cashback_reverse(order_id=order_id, refunded_amount=event.payload.get("amount"))
    if event.customer is not None:
        profile_recompute(customer_id=event.customer.pk)


# --- birthdays ---------------------------------------------------------------------------------------------------

def birthday_set(*, customer: Customer, month: int, now: datetime | None = None) -> Customer:
    """Store the birth month (in settings.CALENDAR); changeable once per BIRTHDAY_CHANGE_DAYS."""
    now = now or timezone.now()
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise DiscountError(_("Choose a month from the list."))
    with transaction.atomic():
        fresh = Customer.objects.select_for_update().get(pk=customer.pk)
        if fresh.birth_month == month:
            return fresh
        wait = timedelta(days=settings.BIRTHDAY_CHANGE_DAYS)
        if fresh.birth_month and fresh.birth_month_set_at and now - fresh.birth_month_set_at < wait:
            from vpnbot.shop.services import format_date

            raise DiscountError(_("You can change your birth month again after %(date)s.") % {
                "date": format_date(fresh.birth_month_set_at + wait, fresh).split(" ")[0]})
        Customer.objects.filter(pk=fresh.pk).update(birth_month=month, birth_month_set_at=now)
    customer.birth_month, customer.birth_month_set_at = month, now
    return customer


# --- describing discounts to the customer ---------------------------------------------------------------------------

def value_text(discount: SmartDiscount, tier: dict | None = None) -> str:
    source = tier if tier is not None else {"percent_bp": discount.percent_bp, "fixed_amount": discount.fixed_amount}
    if source.get("percent_bp"):
        bp = source["percent_bp"]
        text = f"{bp // 100}%" if bp % 100 == 0 else f"{bp / 100:g}%"
    else:
        text = money(source.get("fixed_amount") or 0)
    if discount.cap_amount is not None and source.get("percent_bp"):
        text += " " + _("(up to %(amount)s)") % {"amount": money(discount.cap_amount)}
    return text


def list_separator() -> str:
    return "، " if translation.get_language() == "fa" else ", "


def _weekdays_text(days: list[int]) -> str:
    if sorted(days) == list(range(7)):
        return _("every day")
    return list_separator().join(str(WEEKDAYS[d]) for d in sorted(days))


def _season_text(discount: SmartDiscount) -> str:
    names = month_names(discount.params.get("calendar"))
    parts = []
    for key in ("from", "to"):
        month, day = (int(x) for x in discount.params[key].split("-"))
        parts.append(f"{day} {names[month - 1]}")
    return _("from %(start)s to %(end)s") % {"start": parts[0], "end": parts[1]}


def discount_describe(discount: SmartDiscount, *, customer: Customer | None, facts: Facts, local: datetime) -> str | None:
    """One line for /available_discounts, or None when it is not for this customer."""
    kind, label, value = discount.kind, discount_label(discount), value_text(discount) if discount.kind != Kind.BULK else ""
    now_mark = " " + _("— now!")
    if kind == Kind.HOURLY:
        ranges = list_separator().join(_("%(start)s to %(end)s") % {"start": a, "end": b} for a, b in discount.params["ranges"])
        line = _("⏰ %(label)s: %(value)s on %(days)s, %(ranges)s") % {
            "label": label, "value": value, "days": _weekdays_text(discount.params.get("weekdays", list(range(7)))),
            "ranges": ranges}
        return line + (now_mark if _in_hours(discount, local) else "")
    if kind == Kind.FIRST_PURCHASE:
        return None if facts.paid_orders else _("🎉 %(label)s: %(value)s off your first purchase") % {"label": label, "value": value}
    if kind == Kind.BULK:
        unit = _("periods") if discount.params.get("basis", "quantity") == "quantity" else _("Toman or more")
        ordered = sorted(discount.params["tiers"], key=lambda t: t["min"])
        tiers = list_separator().join(f"{t['min']:,} {unit}: {value_text(discount, t)}" for t in ordered)
        return _("📦 %(label)s: %(tiers)s") % {"label": label, "tiers": tiers}
    if kind == Kind.LOYALTY:
        levels = list_separator().join(level_label(level) for level in discount.params["levels"])
        line = _("🏅 %(label)s (%(levels)s): %(value)s") % {"label": label, "levels": levels, "value": value}
        if facts.level in discount.params["levels"]:
            return line + " " + _("— yours!")
        return line + " " + _("(your level: %(level)s)") % {"level": level_label(facts.level)}
    if kind == Kind.SEASONAL:
        line = _("🌸 %(label)s: %(value)s %(when)s") % {"label": label, "value": value, "when": _season_text(discount)}
        return line + (now_mark if _in_season(discount, local) else "")
    if kind == Kind.BIRTHDAY:
        if not customer or not customer.birth_month:
            return _("🎂 %(value)s in your birthday month: set it with /set_birthday") % {"value": value}
        month = month_names()[customer.birth_month - 1]
        line = _("🎂 %(value)s in your birthday month (%(month)s)") % {"value": value, "month": month}
        return line + (now_mark if _birthday_ok(discount, customer, local, facts) else "")
    if kind == Kind.CODE:
        if discount.customer_id is None:
            return None  # public codes travel by campaign, not by this list
        until = ""
        if discount.ends_at:
            from vpnbot.shop.services import format_date

            until = " " + _("until %(date)s") % {"date": format_date(discount.ends_at, customer).split(" ")[0]}
        return _("🎟 Your code %(code)s: %(value)s%(until)s — use /buy %(code)s") % {
            "code": discount.code, "value": value, "until": until}
    return _("✨ %(label)s: %(value)s") % {"label": label, "value": value}


def available_discounts(*, customer: Customer, at: datetime | None = None) -> list[str]:
    """What this customer can get now and soon, in the active language."""
    at = at or timezone.now()
    facts = customer_facts(customer)
    local = at.astimezone(customer_zone(customer))
    lines = []
    qs = (SmartDiscount.objects.filter(status=SmartDiscount.Status.ACTIVE).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
          .filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")))
          .filter(Q(customer__isnull=True) | Q(customer=customer)).order_by("-priority", "id"))
    for discount in qs[:50]:
        if discount.kind != Kind.BIRTHDAY and not _within_customer_limit(discount, facts):
            continue
        line = discount_describe(discount, customer=customer, facts=facts, local=local)
        if line and discount.starts_at > at:
            from vpnbot.shop.services import format_date

            line += " " + _("(from %(date)s)") % {"date": format_date(discount.starts_at, customer).split(" ")[0]}
        if line:
            lines.append(line)
    percent = float(settings.DEFAULT_CASHBACK_PERCENT or 0)
    if percent > 0:
        lines.append(_("💸 Cashback: %(percent)s%% of what you pay comes back to your wallet") % {"percent": f"{percent:g}"})
    return lines


# --- statistics ------------------------------------------------------------------------------------------------------

@dataclass
class Stats:
    since: datetime
    until: datetime
    per_discount: list[dict]
    per_kind: list[dict]
    cashback_paid: int
    uses: int
    revenue: int
    discounted: int
    cashback_reversed: int = 0
    cashback_unrecovered: int = 0

    @property
    def cashback_net(self) -> int:
        """What cashback cost the shop in the period: paid minus what came back (may be < 0)."""
        return self.cashback_paid - self.cashback_reversed


def discount_stats(*, since: datetime, until: datetime | None = None) -> Stats:
    """Uses, revenue (what the orders paid), amount discounted per discount and per kind over
    [since, until), and the cashback in that time: paid (credited to wallets, by credit time),
    reversed (taken back from wallets after refunds, by reversal time) and unrecovered (owed
    back by refunds in the period but not in the wallet); net = paid - reversed."""
    until = until or timezone.now()
    if since >= until:
        raise DiscountError(_("The period is empty."))
    usages = DiscountUsage.objects.filter(created_at__gte=since, created_at__lt=until, released_at__isnull=True)
    rows = list(usages.values("discount_id", "discount__kind", "discount__title", "discount__code")
                .annotate(uses=Count("id"), discounted=Sum("amount"), revenue=Sum("order__paid_amount"))
                .order_by("-discounted", "discount_id"))
    kinds: dict[str, dict] = {}
    for row in rows:
        entry = kinds.setdefault(row["discount__kind"], {"kind": row["discount__kind"], "uses": 0, "discounted": 0, "revenue": 0})
        for key in ("uses", "discounted", "revenue"):
            entry[key] += row[key] or 0
    orders = Order.objects.filter(discount_usages__in=usages).distinct()
    revenue = orders.aggregate(total=Sum("paid_amount"))["total"] or 0
    paid = CashbackTransaction.objects.filter(credited_at__gte=since, credited_at__lt=until).aggregate(
        total=Sum("amount"))["total"] or 0
    back = CashbackTransaction.objects.filter(reversed_at__gte=since, reversed_at__lt=until).aggregate(
        reversed=Sum("reversed_amount"), unrecovered=Sum("unrecovered_amount"))
    return Stats(since=since, until=until, per_discount=rows,
                 per_kind=sorted(kinds.values(), key=lambda k: -k["discounted"]),
                 cashback_paid=paid, cashback_reversed=back["reversed"] or 0,
                 cashback_unrecovered=back["unrecovered"] or 0,
                 uses=sum(r["uses"] for r in rows), revenue=revenue, discounted=sum(r["discounted"] or 0 for r in rows))


def stats_chart(stats: Stats) -> bytes:
    """A PNG bar chart of the amount discounted and the revenue per kind."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), dpi=100)
    axes = figure.add_subplot()
    kinds = [k["kind"] for k in stats.per_kind] or ["-"]
    discounted = [k["discounted"] for k in stats.per_kind] or [0]
    revenue = [k["revenue"] for k in stats.per_kind] or [0]
    positions = range(len(kinds))
    axes.bar([p - 0.2 for p in positions], revenue, width=0.4, label="revenue")
    axes.bar([p + 0.2 for p in positions], discounted, width=0.4, label="discounted")
    axes.set_xticks(list(positions), kinds, rotation=20)
    axes.set_title(f"Discounts {stats.since:%Y-%m-%d} - {stats.until:%Y-%m-%d} (Toman)")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
