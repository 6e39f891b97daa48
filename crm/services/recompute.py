"""The set-based recompute of every profile.

One timestamp (`as_of`) per run. Everything happens in the database, in a handful of
statements that never bring a row per customer into Python, so memory does not grow with
the number of customers:

1. fill the scratch table crm_profilestage with one row per customer: order and
   subscription aggregates, the favourite plan (ROW_NUMBER) and renewal lateness (LAG);
   then the R, F and M quintiles (NTILE(5) ordered by the value, then the customer id as the
   deterministic tie-break, among customers who ever bought);
2. derive the segment, the journey stage and the churn risk with CASE (one UPDATE);
3. append a CustomerJourney row for every stage change;
4. insert the missing profiles and update only the existing profiles (not the ones just
   inserted) whose values differ (a null-safe comparison), so a rerun on unchanged data
   writes nothing;
5. add insights that are not already current.

Window functions (NTILE, ROW_NUMBER, LAG) exist on PostgreSQL, MariaDB 10.2+ and SQLite
3.25+, so the same statements serve the three; only date arithmetic, integer division, the
null-safe comparison and the UPDATE-with-join syntax differ per vendor.

On PostgreSQL steps 1 and 2 are one INSERT ... SELECT (_stage_fill_postgres_sql): one
sequential read of shop_order and of shop_subscription, each sorted once, and every scratch
row written once instead of three times. It yields the same rows as the portable statements
(tests/crm/test_recompute.py compares the two on random data).
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import ProfileStage, RecomputeLock, RecomputeRun, UserInsight, UserProfile

log = logging.getLogger(__name__)

# Columns copied from the scratch table to the profile (and compared to detect a change).
PROFILE_COLUMNS = (
    "frequency", "monetary_amount", "average_order_amount", "first_order_at", "last_order_at", "recency_days",
    "r_score", "f_score", "m_score", "favourite_plan_id", "avg_days_between_orders", "avg_renewal_late_days",
    "discounted_orders", "active_until", "last_expired_at", "churn_risk", "churn_risk_baseline", "baseline_at",
    "segment", "stage", "won_back_at",
)


# PostgreSQL computes the scratch rows in one statement (_stage_fill_postgres_sql); False
# selects the portable statements there too (the tests compare the two).
POSTGRES_SINGLE_PASS = True
# Planner settings for that statement alone (SET LOCAL, then RESET):
# - no index scans: walking shop_order or shop_subscription through the customer_id index
#   fetches the heap in random order (the rows of a customer are scattered), about ten times
#   slower at 1M customers than one sequential read and a sort;
# - no hash aggregation: the per-(customer, plan) groups are nearly as many as the orders;
#   sorted, they stream into the per-customer aggregate with no spill of a hash table.
# work_mem stays the server's (4MB by default): its sorts spill to disk, and at 1M customers
# the statement took the same time with 4, 16, 32 or 128MB (15.6-17.5 s) while the server
# process's peak memory went from 294 to 857 MiB.
POSTGRES_FILL_SETTINGS = {"enable_indexscan": "off", "enable_hashagg": "off"}


class RecomputeBusy(Exception):
    """Another recompute holds the lock."""


def _vendor() -> str:
    return connection.vendor  # "postgresql", "mysql", "sqlite"


def _days(a: str, b: str) -> str:
    """Whole days from a to b (truncated toward zero)."""
    vendor = _vendor()
    if vendor == "postgresql":
        return (f"CAST(TRUNC(EXTRACT(EPOCH FROM (CAST({b} AS timestamptz) - CAST({a} AS timestamptz))) / 86400) "
                f"AS INTEGER)")
    if vendor == "mysql":
        return f"TIMESTAMPDIFF(DAY, {a}, {b})"
    return f"CAST(julianday({b}) - julianday({a}) AS INTEGER)"


def _idiv(a: str, b: str) -> str:
    vendor = _vendor()
    if vendor == "mysql":
        return f"(({a}) DIV ({b}))"
    if vendor == "postgresql":
        return f"(CAST({a} AS BIGINT) / ({b}))"
    return f"(({a}) / ({b}))"


def _differs(a: str, b: str) -> str:
    vendor = _vendor()
    if vendor == "postgresql":
        return f"{a} IS DISTINCT FROM {b}"
    if vendor == "mysql":
        return f"NOT ({a} <=> {b})"
    return f"{a} IS NOT {b}"


_PARAM = re.compile(r":([a-z_]+)\b")


def _execute(cursor, sql: str, params: dict) -> int:
    """Run sql whose :name placeholders come from params (datetimes adapted per vendor)."""
    values = []

    def take(match):
        value = params[match.group(1)]
        if isinstance(value, datetime):
            value = connection.ops.adapt_datetimefield_value(value)
        values.append(value)
        return "%s"

    cursor.execute(_PARAM.sub(take, sql), values)
    return cursor.rowcount


def _stage_fill_sql() -> str:
    late_days = _days("prev_exp", "created_at")
    return f"""
INSERT INTO crm_profilestage (customer_id, joined_at, buyer, frequency, monetary_amount, paid_sum_amount,
    first_order_at, last_order_at, discounted_orders, active_until, last_expired_at, favourite_plan_id,
    avg_renewal_late_days, r_score, f_score, m_score, prev_stage, prev_won_back_at, churn_risk_baseline,
    baseline_at, average_order_amount, recency_days, avg_days_between_orders, churn_risk, segment, stage)
SELECT c.id, c.joined_at,
    CASE WHEN o.customer_id IS NULL THEN 0 ELSE 1 END,
    COALESCE(o.frequency, 0), COALESCE(o.monetary, 0), COALESCE(o.paid_sum, 0),
    o.first_at, o.last_at, COALESCE(o.discounted, 0),
    s.active_until, COALESCE(s.last_expired, CASE WHEN s.active_until IS NULL THEN o.last_at END),
    f.plan_id,
    CASE WHEN l.renewals > 0 THEN {_idiv("l.late_sum", "l.renewals")} END,
    0, 0, 0,
    p.stage, p.won_back_at, COALESCE(p.churn_risk_baseline, 0), p.baseline_at,
    CASE WHEN o.frequency > 0 THEN {_idiv("o.paid_sum", "o.frequency")} ELSE 0 END,
    CASE WHEN o.last_at IS NOT NULL THEN {_days("o.last_at", ":as_of")} END,
    CASE WHEN o.frequency > 1 THEN {_idiv(_days("o.first_at", "o.last_at"), "o.frequency - 1")} END,
    0, '', ''
FROM shop_customer c
LEFT JOIN (
    SELECT customer_id,
        SUM(CASE WHEN status = 'paid' THEN 1 ELSE 0 END) AS frequency,
        SUM(paid_amount - refunded_amount) AS monetary,
        SUM(CASE WHEN status = 'paid' THEN paid_amount ELSE 0 END) AS paid_sum,
        MIN(paid_at) AS first_at, MAX(paid_at) AS last_at,
        SUM(CASE WHEN status = 'paid' AND discount_amount > 0 THEN 1 ELSE 0 END) AS discounted
    FROM shop_order
    WHERE status IN ('paid', 'refunded') AND paid_at <= :as_of
    GROUP BY customer_id
) o ON o.customer_id = c.id
LEFT JOIN (
    SELECT customer_id,
        MAX(CASE WHEN status = 'active' AND expires_at > :as_of THEN expires_at END) AS active_until,
        MAX(CASE WHEN expires_at <= :as_of THEN expires_at END) AS last_expired
    FROM shop_subscription
    WHERE created_at <= :as_of
    GROUP BY customer_id
) s ON s.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, plan_id,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY COUNT(*) DESC, MAX(paid_at) DESC, plan_id) AS rn
    FROM shop_order
    WHERE status = 'paid' AND paid_at <= :as_of
    GROUP BY customer_id, plan_id
) f ON f.customer_id = c.id AND f.rn = 1
LEFT JOIN (
    SELECT customer_id,
        SUM(CASE WHEN created_at > prev_exp THEN {late_days} ELSE 0 END) AS late_sum,
        COUNT(*) AS renewals
    FROM (
        SELECT customer_id, created_at,
            LAG(expires_at) OVER (PARTITION BY customer_id ORDER BY starts_at, id) AS prev_exp
        FROM shop_subscription
        WHERE created_at <= :as_of AND status <> 'cancelled'
    ) x
    WHERE prev_exp IS NOT NULL
    GROUP BY customer_id
) l ON l.customer_id = c.id
LEFT JOIN crm_userprofile p ON p.customer_id = c.id
"""


STAGE_COLUMNS = (
    "customer_id", "joined_at", "buyer", "frequency", "monetary_amount", "paid_sum_amount", "first_order_at",
    "last_order_at", "discounted_orders", "active_until", "last_expired_at", "favourite_plan_id",
    "avg_renewal_late_days", "r_score", "f_score", "m_score", "prev_stage", "prev_won_back_at",
    "churn_risk_baseline", "baseline_at", "average_order_amount", "recency_days", "avg_days_between_orders",
    "churn_risk", "segment", "stage", "won_back_at",
)


def _stage_fill_postgres_sql() -> str:
    """PostgreSQL: the whole scratch row in one INSERT (aggregates, quintiles, segment, stage,
    churn risk), so each row is written once. The same values as the portable path
    (_stage_fill_sql, _scores_sql, _derive_sql; a test compares the two), computed with one
    sequential read of each source table instead of an index walk per aggregate:

    - orders, grouped by (customer, plan) once: the customer's totals sum the per-plan groups,
      and the favourite plan is the first of them by paid orders, latest paid order, plan id;
    - subscriptions, sorted once by (customer, cancelled, start, id): LAG over the
      non-cancelled ones gives the renewal lateness, the same rows give active_until and
      last_expired_at;
    - NTILE(5) over the per-customer order totals: those rows are exactly the buyers (the
      portable path's set), and they are narrow, so the three sorts are cheap; the others get 0."""
    late_days = _days("prev_exp", "created_at")
    segment, risk = f"({SEGMENT_SQL})", f"({_churn_risk_sql()})"
    return f"""
INSERT INTO crm_profilestage ({", ".join(STAGE_COLUMNS)})
WITH op AS (
    SELECT customer_id, plan_id,
        COUNT(*) FILTER (WHERE paid) AS paid,
        CAST(SUM(net_amount) AS BIGINT) AS monetary,
        CAST(SUM(paid_amount) FILTER (WHERE paid) AS BIGINT) AS paid_sum,
        MIN(paid_at) AS first_at, MAX(paid_at) AS last_at,
        MAX(paid_at) FILTER (WHERE paid) AS last_paid_at,
        COUNT(*) FILTER (WHERE paid AND discounted) AS discounted
    FROM (  -- narrow rows for the sort
        SELECT customer_id, plan_id, status = 'paid' AS paid, paid_amount - refunded_amount AS net_amount,
            paid_amount, paid_at, discount_amount > 0 AS discounted
        FROM shop_order
        WHERE status IN ('paid', 'refunded') AND paid_at <= :as_of
    ) x
    GROUP BY customer_id, plan_id
), o AS (
    SELECT customer_id,
        CAST(SUM(paid) AS BIGINT) AS frequency,
        CAST(SUM(monetary) AS BIGINT) AS monetary,
        CAST(COALESCE(SUM(paid_sum), 0) AS BIGINT) AS paid_sum,
        MIN(first_at) AS first_at, MAX(last_at) AS last_at,
        CAST(SUM(discounted) AS BIGINT) AS discounted,
        MAX(plan_id) FILTER (WHERE rn = 1 AND paid > 0) AS favourite_plan_id
    FROM (
        SELECT op.*, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY paid DESC, last_paid_at DESC, plan_id) AS rn
        FROM op
    ) x
    GROUP BY customer_id
), oq AS (
    SELECT o.*,
        NTILE(5) OVER (ORDER BY last_at, customer_id) AS r_score,
        NTILE(5) OVER (ORDER BY frequency, customer_id) AS f_score,
        NTILE(5) OVER (ORDER BY monetary, customer_id) AS m_score
    FROM o
), s AS (
    SELECT customer_id,
        MAX(expires_at) FILTER (WHERE active AND expires_at > :as_of) AS active_until,
        MAX(expires_at) FILTER (WHERE expires_at <= :as_of) AS last_expired,
        SUM(CASE WHEN created_at > prev_exp THEN {late_days} ELSE 0 END)
            FILTER (WHERE NOT cancelled AND prev_exp IS NOT NULL) AS late_sum,
        COUNT(*) FILTER (WHERE NOT cancelled AND prev_exp IS NOT NULL) AS renewals
    FROM (
        SELECT customer_id, status = 'active' AS active, status = 'cancelled' AS cancelled, created_at, expires_at,
            LAG(expires_at) OVER (PARTITION BY customer_id, status = 'cancelled' ORDER BY starts_at, id) AS prev_exp
        FROM shop_subscription
        WHERE created_at <= :as_of
    ) x
    GROUP BY customer_id
), base AS (
    SELECT c.id AS customer_id, c.joined_at,
        CASE WHEN o.customer_id IS NULL THEN 0 ELSE 1 END AS buyer,
        COALESCE(o.frequency, 0) AS frequency, COALESCE(o.monetary, 0) AS monetary_amount,
        COALESCE(o.paid_sum, 0) AS paid_sum_amount,
        o.first_at AS first_order_at, o.last_at AS last_order_at, COALESCE(o.discounted, 0) AS discounted_orders,
        s.active_until, COALESCE(s.last_expired, CASE WHEN s.active_until IS NULL THEN o.last_at END) AS last_expired_at,
        o.favourite_plan_id,
        CASE WHEN s.renewals > 0 THEN {_idiv("s.late_sum", "s.renewals")} END AS avg_renewal_late_days,
        p.stage AS prev_stage, p.won_back_at AS prev_won_back_at,
        COALESCE(p.churn_risk_baseline, 0) AS churn_risk_baseline, p.baseline_at,
        CASE WHEN o.frequency > 0 THEN {_idiv("o.paid_sum", "o.frequency")} ELSE 0 END AS average_order_amount,
        CASE WHEN o.last_at IS NOT NULL THEN {_days("o.last_at", ":as_of")} END AS recency_days,
        CASE WHEN o.frequency > 1 THEN {_idiv(_days("o.first_at", "o.last_at"), "o.frequency - 1")} END
            AS avg_days_between_orders,
        COALESCE(o.r_score, 0) AS r_score, COALESCE(o.f_score, 0) AS f_score, COALESCE(o.m_score, 0) AS m_score
    FROM shop_customer c
    LEFT JOIN oq o ON o.customer_id = c.id
    LEFT JOIN s ON s.customer_id = c.id
    LEFT JOIN crm_userprofile p ON p.customer_id = c.id
), segmented AS (
    SELECT base.*, {segment} AS segment, {risk} AS churn_risk FROM base
)
SELECT customer_id, joined_at, buyer, frequency, monetary_amount, paid_sum_amount, first_order_at, last_order_at,
    discounted_orders, active_until, last_expired_at, favourite_plan_id, avg_renewal_late_days,
    r_score, f_score, m_score, prev_stage, prev_won_back_at,
    CASE WHEN baseline_at IS NULL OR baseline_at < :week_ago THEN churn_risk ELSE churn_risk_baseline END,
    CASE WHEN baseline_at IS NULL OR baseline_at < :week_ago THEN :as_of ELSE baseline_at END,
    average_order_amount, recency_days, avg_days_between_orders, churn_risk, segment,
    CASE
        WHEN segment IN ('churned', 'at_risk', 'won_back') THEN segment
        WHEN buyer = 0 THEN 'visitor'
        WHEN frequency >= :loyal THEN 'loyal'
        WHEN frequency >= 2 THEN 'repeat'
        ELSE 'first_purchase' END,
    CASE WHEN segment = 'won_back' AND prev_stage = 'churned' THEN :as_of ELSE prev_won_back_at END
FROM segmented
"""


def _scores_sql() -> str:
    """R, F and M quintiles among the customers who ever bought: NTILE(5) ordered by the value,
    then the customer id (the deterministic tie-break). Computed over the scratch table alone,
    which every planner handles as one sort per window."""
    source = """SELECT customer_id,
            NTILE(5) OVER (ORDER BY last_order_at, customer_id) AS r,
            NTILE(5) OVER (ORDER BY frequency, customer_id) AS f,
            NTILE(5) OVER (ORDER BY monetary_amount, customer_id) AS m
        FROM crm_profilestage WHERE buyer = 1"""
    if _vendor() == "mysql":
        return f"""UPDATE crm_profilestage t JOIN ({source}) q ON q.customer_id = t.customer_id
            SET t.r_score = q.r, t.f_score = q.f, t.m_score = q.m"""
    return f"""UPDATE crm_profilestage AS t SET r_score = q.r, f_score = q.f, m_score = q.m
        FROM ({source}) q WHERE q.customer_id = t.customer_id"""


SEGMENT_SQL = """CASE
    WHEN buyer = 0 AND joined_at >= :new_since THEN 'new'
    WHEN buyer = 0 AND joined_at < :dormant_before THEN 'dormant'
    WHEN buyer = 0 THEN 'prospect'
    WHEN active_until IS NULL AND last_expired_at < :churn_before THEN 'churned'
    WHEN active_until IS NULL THEN 'at_risk'
    WHEN active_until <= :risk_until THEN 'at_risk'
    WHEN prev_stage = 'churned' THEN 'won_back'
    WHEN prev_won_back_at IS NOT NULL AND prev_won_back_at >= :won_back_since THEN 'won_back'
    WHEN r_score + f_score + m_score >= :vip_rfm THEN 'vip'
    WHEN monetary_amount >= :high_value THEN 'high_value'
    ELSE 'active' END"""


def _churn_risk_sql() -> str:
    return f"""CASE
        WHEN buyer = 0 THEN 0
        WHEN active_until IS NULL AND last_expired_at < :churn_before THEN 100
        WHEN active_until IS NULL THEN 70 + {_idiv(_days("last_expired_at", ":as_of") + " * 29", ":grace")}
        WHEN active_until <= :risk_until
            THEN 40 + {_idiv("(:risk_days - " + _days(":as_of", "active_until") + ") * 29", ":risk_days")}
        WHEN frequency >= 2 THEN 10
        ELSE 20 END"""


def _derive_sql() -> str:
    """One UPDATE of the scratch table: segment, stage, won-back time, churn risk and its weekly
    baseline. Every expression reads only columns this statement does not assign (MySQL
    evaluates assignments left to right with the new values), except the baseline pair, which
    is ordered so that both read the old baseline_at."""
    segment, risk = f"({SEGMENT_SQL})", f"({_churn_risk_sql()})"
    return f"""UPDATE crm_profilestage SET
        segment = {segment},
        stage = CASE
            WHEN {segment} IN ('churned', 'at_risk', 'won_back') THEN {segment}
            WHEN buyer = 0 THEN 'visitor'
            WHEN frequency >= :loyal THEN 'loyal'
            WHEN frequency >= 2 THEN 'repeat'
            ELSE 'first_purchase' END,
        won_back_at = CASE WHEN {segment} = 'won_back' AND prev_stage = 'churned' THEN :as_of
                           ELSE prev_won_back_at END,
        churn_risk = {risk},
        churn_risk_baseline = CASE WHEN baseline_at IS NULL OR baseline_at < :week_ago
                                   THEN {risk} ELSE churn_risk_baseline END,
        baseline_at = CASE WHEN baseline_at IS NULL OR baseline_at < :week_ago THEN :as_of ELSE baseline_at END"""


def _journey_sql() -> str:
    return """INSERT INTO crm_customerjourney (customer_id, from_stage, stage, at)
        SELECT customer_id, COALESCE(prev_stage, 'visitor'), stage, :as_of FROM crm_profilestage
        WHERE stage <> COALESCE(prev_stage, 'visitor')"""


def _insert_profiles_sql() -> str:
    cols = ", ".join(PROFILE_COLUMNS)
    return f"""INSERT INTO crm_userprofile (customer_id, {cols}, updated_at)
        SELECT s.customer_id, {", ".join("s." + c for c in PROFILE_COLUMNS)}, :as_of FROM crm_profilestage s
        WHERE s.prev_stage IS NULL"""  # no profile when the stage was filled (the run holds the lock)


def _update_profiles_sql() -> str:
    vendor = _vendor()
    changed = " OR ".join(_differs(f"p.{c}", f"s.{c}") for c in PROFILE_COLUMNS)
    if vendor == "mysql":
        sets = ", ".join(f"p.{c} = s.{c}" for c in PROFILE_COLUMNS)
        return f"""UPDATE crm_userprofile p JOIN crm_profilestage s ON p.customer_id = s.customer_id
            SET {sets}, p.updated_at = :as_of WHERE s.prev_stage IS NOT NULL AND ({changed})"""
    sets = ", ".join(f"{c} = s.{c}" for c in PROFILE_COLUMNS)
    return f"""UPDATE crm_userprofile AS p SET {sets}, updated_at = :as_of FROM crm_profilestage s
        WHERE p.customer_id = s.customer_id AND s.prev_stage IS NOT NULL AND ({changed})"""


def _insight_statements() -> list[tuple[str, str]]:
    """(kind, INSERT ... SELECT) for per-customer facts not already current."""
    fresh = """NOT EXISTS (SELECT 1 FROM crm_userinsight i WHERE i.customer_id = s.customer_id
               AND i.kind = '{kind}' AND i.expires_at > :as_of)"""
    head = "INSERT INTO crm_userinsight (customer_id, kind, segment, value, severity, created_at, expires_at) SELECT "
    return [
        ("renews_late", head + "s.customer_id, 'renews_late', s.segment, s.avg_renewal_late_days, 'warning', :as_of, "
         ":insight_until FROM crm_profilestage s WHERE s.avg_renewal_late_days >= :late_days AND "
         + fresh.format(kind="renews_late")),
        ("discount_only", head + "s.customer_id, 'discount_only', s.segment, s.frequency, 'info', :as_of, "
         ":insight_until FROM crm_profilestage s WHERE s.frequency >= 2 AND s.discounted_orders = s.frequency AND "
         + fresh.format(kind="discount_only")),
        # against the profile's baseline, before the profile takes the new values
        ("churn_risk_up", head + "s.customer_id, 'churn_risk_up', s.segment, s.churn_risk - p.churn_risk_baseline, "
         "'critical', :as_of, :insight_until FROM crm_profilestage s JOIN crm_userprofile p "
         "ON p.customer_id = s.customer_id "
         "WHERE p.baseline_at IS NOT NULL AND s.churn_risk >= p.churn_risk_baseline + :risk_jump AND "
         + fresh.format(kind="churn_risk_up")),
        ("loyal", head + "s.customer_id, 'loyal', s.segment, s.frequency, 'info', :as_of, :insight_until "
         "FROM crm_profilestage s WHERE s.stage = 'loyal' AND (s.prev_stage IS NULL OR s.prev_stage <> 'loyal') AND "
         + fresh.format(kind="loyal")),
    ]


def _params(as_of: datetime) -> dict:
    grace = max(1, settings.CRM_CHURN_GRACE_DAYS)
    risk_days = max(1, settings.CRM_AT_RISK_DAYS)
    return {
        "as_of": as_of,
        "new_since": as_of - timedelta(days=settings.CRM_NEW_DAYS),
        "dormant_before": as_of - timedelta(days=settings.CRM_DORMANT_DAYS),
        "churn_before": as_of - timedelta(days=grace),
        "risk_until": as_of + timedelta(days=risk_days),
        "won_back_since": as_of - timedelta(days=settings.CRM_WON_BACK_DAYS),
        "week_ago": as_of - timedelta(days=7),
        "vip_rfm": settings.CRM_VIP_MIN_RFM,
        "high_value": settings.CRM_HIGH_VALUE_AMOUNT,
        "loyal": settings.CRM_LOYAL_MIN_ORDERS,
        "grace": grace,
        "risk_days": risk_days,
        "insight_until": as_of + timedelta(days=7),
        "late_days": 2,
        "risk_jump": 30,
    }


def _stage_empty(cursor) -> None:
    """Empty the scratch table. TRUNCATE on PostgreSQL (no dead rows left behind for the next
    run to skip over; the run holds the lock, so its exclusive lock on the table waits for no one)."""
    if _vendor() == "postgresql":
        cursor.execute("TRUNCATE crm_profilestage")
    else:
        ProfileStage.objects.all().delete()


def _segment_growth_insights(run: RecomputeRun, as_of: datetime) -> int:
    """Shop-wide: a segment that grew by 10% or more against the run closest to a week ago."""
    before = (RecomputeRun.objects.filter(as_of__lte=as_of - timedelta(days=7), finished_at__isnull=False)
              .exclude(pk=run.pk).order_by("-as_of").first())
    if before is None:
        return 0
    created = 0
    for segment in ("at_risk", "churned", "vip", "active", "won_back"):
        old, new = int(before.segment_counts.get(segment, 0)), int(run.segment_counts.get(segment, 0))
        if old <= 0 or new <= old:
            continue
        percent = (new - old) * 100 // old
        if percent < 10:
            continue
        if UserInsight.objects.filter(customer__isnull=True, kind=UserInsight.Kind.SEGMENT_GROWTH, segment=segment,
                                      expires_at__gt=as_of).exists():
            continue
        severity = UserInsight.Severity.WARNING if segment in ("at_risk", "churned") else UserInsight.Severity.INFO
        UserInsight.objects.create(kind=UserInsight.Kind.SEGMENT_GROWTH, segment=segment, value=percent,
                                   severity=severity, created_at=as_of, expires_at=as_of + timedelta(days=7))
        created += 1
    return created


def profiles_recompute(*, as_of: datetime | None = None, make_offers: bool | None = None) -> RecomputeRun | None:
    """Recompute every profile as of one timestamp. Returns the run, or None when the CRM is
    off or another recompute is running (it holds the lock row)."""
    if not settings.ENABLE_CRM:
        return None
    as_of = as_of or timezone.now()
    params = _params(as_of)
    started = time.monotonic()
    RecomputeLock.objects.get_or_create(name="recompute")
    with transaction.atomic():
        lock = RecomputeLock.objects.select_for_update(skip_locked=True).filter(name="recompute").first()
        if lock is None:
            log.info("crm recompute: another run holds the lock; skipped")
            return None
        run = RecomputeRun.objects.create(as_of=as_of)
        with connection.cursor() as cursor:
            def step(label, sql):
                t0 = time.monotonic()
                count = _execute(cursor, sql, params)
                log.debug("crm recompute: %s: %s rows in %.2fs", label, count, time.monotonic() - t0)
                return count

            postgres = _vendor() == "postgresql"

            def insight_step(kind, sql):
                # The NOT EXISTS probes crm_userinsight while it is being filled. PostgreSQL would
                # pick a nested loop that rescans the new rows once per candidate (quadratic):
                # make it hash the table once instead.
                if postgres:
                    cursor.execute("SET LOCAL enable_nestloop = off")
                count = max(step(f"insight {kind}", sql), 0)
                if postgres:
                    cursor.execute("SET LOCAL enable_nestloop = on")
                return count

            _stage_empty(cursor)
            if postgres and POSTGRES_SINGLE_PASS:
                for name, value in POSTGRES_FILL_SETTINGS.items():
                    cursor.execute(f"SET LOCAL {name} = {value}")
                run.profiles = step("aggregates, quintiles, segments, stages, churn risk",
                                    _stage_fill_postgres_sql())
                for name in POSTGRES_FILL_SETTINGS:
                    cursor.execute(f"RESET {name}")
            else:
                run.profiles = step("aggregates", _stage_fill_sql())
            if postgres:  # fresh statistics for the planner: the scratch rows are new
                for table in ("crm_profilestage", "crm_userprofile", "crm_userinsight"):
                    cursor.execute(f"ANALYZE {table}")
            if not (postgres and POSTGRES_SINGLE_PASS):
                step("quintiles", _scores_sql())
                step("segments, stages, churn risk", _derive_sql())
            insights = dict(_insight_statements())
            run.insights = insight_step("churn_risk_up", insights.pop("churn_risk_up"))
            run.journey_steps = step("journey", _journey_sql())
            run.created = step("new profiles", _insert_profiles_sql())
            run.changed = step("changed profiles", _update_profiles_sql())
            run.insights += sum(insight_step(kind, sql) for kind, sql in insights.items())
            step("segment counts", "SELECT segment, COUNT(*) FROM crm_userprofile GROUP BY segment")
            run.segment_counts = {segment: count for segment, count in cursor.fetchall()}
            t0 = time.monotonic()
            _stage_empty(cursor)
            log.debug("crm recompute: scratch table emptied in %.2fs", time.monotonic() - t0)
        run.insights += _segment_growth_insights(run, as_of)
        if make_offers if make_offers is not None else settings.CRM_AUTO_OFFERS:
            from .offers import offers_expire, offers_generate

            offers_expire(now=as_of)
            run.offers = offers_generate(now=as_of)
        run.finished_at = timezone.now()
        run.seconds = round(time.monotonic() - started, 3)
        run.save()
    # run.seconds stops before the commit; the commit runs the deferred foreign-key checks of
    # every row written (about a third of a first run's time at 1M customers).
    log.info("crm recompute as of %s: %s profiles, %s new, %s changed, %s journey steps in %.1fs (%.1fs with the commit)",
             as_of.isoformat(), run.profiles, run.created, run.changed, run.journey_steps, run.seconds,
             time.monotonic() - started)
    return run


def profile_for(customer) -> UserProfile | None:
    return UserProfile.objects.filter(customer=customer).select_related("favourite_plan").first()
