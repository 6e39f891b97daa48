"""Profile metrics in the recompute's SQL: order and subscription aggregates, favourite plan,
renewal lateness and RFM quintiles into the scratch table, then into the profiles.

Window functions (NTILE, ROW_NUMBER, LAG) exist on PostgreSQL, MariaDB 10.2+ and SQLite
3.25+, so the same statements serve the three; only date arithmetic, integer division, the
null-safe comparison and the UPDATE-with-join syntax differ per vendor (.sql).
"""

from __future__ import annotations

from .journeys import stage_sql, won_back_sql
from .segment_rules import SEGMENT_SQL, baseline_sql, churn_risk_sql
from .sql import days_between, differs, int_div, vendor

# Columns copied from the scratch table to the profile (and compared to detect a change).
PROFILE_COLUMNS = (
    "frequency", "monetary_amount", "average_order_amount", "first_order_at", "last_order_at", "recency_days",
    "r_score", "f_score", "m_score", "favourite_plan_id", "avg_days_between_orders", "avg_renewal_late_days",
    "discounted_orders", "active_until", "last_expired_at", "churn_risk", "churn_risk_baseline", "baseline_at",
    "segment", "stage", "won_back_at",
)
# Columns of the scratch table, in the order the PostgreSQL statement fills them.
STAGE_COLUMNS = (
    "customer_id", "joined_at", "buyer", "frequency", "monetary_amount", "paid_sum_amount", "first_order_at",
    "last_order_at", "discounted_orders", "active_until", "last_expired_at", "favourite_plan_id",
    "avg_renewal_late_days", "r_score", "f_score", "m_score", "prev_stage", "prev_won_back_at",
    "churn_risk_baseline", "baseline_at", "average_order_amount", "recency_days", "avg_days_between_orders",
    "churn_risk", "segment", "stage", "won_back_at",
)


def stage_fill_sql() -> str:
    """The portable first step: one scratch row per customer with its aggregates, favourite
    plan (ROW_NUMBER) and renewal lateness (LAG); scores, segment and stage come after."""
    late_days = days_between("prev_exp", "created_at")
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
    CASE WHEN l.renewals > 0 THEN {int_div("l.late_sum", "l.renewals")} END,
    0, 0, 0,
    p.stage, p.won_back_at, COALESCE(p.churn_risk_baseline, 0), p.baseline_at,
    CASE WHEN o.frequency > 0 THEN {int_div("o.paid_sum", "o.frequency")} ELSE 0 END,
    CASE WHEN o.last_at IS NOT NULL THEN {days_between("o.last_at", ":as_of")} END,
    CASE WHEN o.frequency > 1 THEN {int_div(days_between("o.first_at", "o.last_at"), "o.frequency - 1")} END,
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


def stage_fill_postgres_sql() -> str:
    """PostgreSQL: the whole scratch row in one INSERT (aggregates, quintiles, segment, stage,
    churn risk), so each row is written once. The same values as the portable path
    (stage_fill_sql, scores_sql, derive_sql; a test compares the two), computed with one
    sequential read of each source table instead of an index walk per aggregate:

    - orders, grouped by (customer, plan) once: the customer's totals sum the per-plan groups,
      and the favourite plan is the first of them by paid orders, latest paid order, plan id;
    - subscriptions, sorted once by (customer, cancelled, start, id): LAG over the
      non-cancelled ones gives the renewal lateness, the same rows give active_until and
      last_expired_at;
    - NTILE(5) over the per-customer order totals: those rows are exactly the buyers (the
      portable path's set), and they are narrow, so the three sorts are cheap; the others get 0."""
    late_days = days_between("prev_exp", "created_at")
    segment, risk = f"({SEGMENT_SQL})", f"({churn_risk_sql()})"
    baseline, baseline_at = baseline_sql("churn_risk")
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
        CASE WHEN s.renewals > 0 THEN {int_div("s.late_sum", "s.renewals")} END AS avg_renewal_late_days,
        p.stage AS prev_stage, p.won_back_at AS prev_won_back_at,
        COALESCE(p.churn_risk_baseline, 0) AS churn_risk_baseline, p.baseline_at,
        CASE WHEN o.frequency > 0 THEN {int_div("o.paid_sum", "o.frequency")} ELSE 0 END AS average_order_amount,
        CASE WHEN o.last_at IS NOT NULL THEN {days_between("o.last_at", ":as_of")} END AS recency_days,
        CASE WHEN o.frequency > 1 THEN {int_div(days_between("o.first_at", "o.last_at"), "o.frequency - 1")} END
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
    {baseline},
    {baseline_at},
    average_order_amount, recency_days, avg_days_between_orders, churn_risk, segment,
    {stage_sql("segment")},
    {won_back_sql("segment")}
FROM segmented
"""


def scores_sql() -> str:
    """R, F and M quintiles among the customers who ever bought: NTILE(5) ordered by the value,
    then the customer id (the deterministic tie-break). Computed over the scratch table alone,
    which every planner handles as one sort per window."""
    source = """SELECT customer_id,
            NTILE(5) OVER (ORDER BY last_order_at, customer_id) AS r,
            NTILE(5) OVER (ORDER BY frequency, customer_id) AS f,
            NTILE(5) OVER (ORDER BY monetary_amount, customer_id) AS m
        FROM crm_profilestage WHERE buyer = 1"""
    if vendor() == "mysql":
        return f"""UPDATE crm_profilestage t JOIN ({source}) q ON q.customer_id = t.customer_id
            SET t.r_score = q.r, t.f_score = q.f, t.m_score = q.m"""
    return f"""UPDATE crm_profilestage AS t SET r_score = q.r, f_score = q.f, m_score = q.m
        FROM ({source}) q WHERE q.customer_id = t.customer_id"""


def insert_profiles_sql() -> str:
    cols = ", ".join(PROFILE_COLUMNS)
    return f"""INSERT INTO crm_userprofile (customer_id, {cols}, updated_at)
        SELECT s.customer_id, {", ".join("s." + c for c in PROFILE_COLUMNS)}, :as_of FROM crm_profilestage s
        WHERE s.prev_stage IS NULL"""  # no profile when the stage was filled (the run holds the lock)


def update_profiles_sql() -> str:
    changed = " OR ".join(differs(f"p.{c}", f"s.{c}") for c in PROFILE_COLUMNS)
    if vendor() == "mysql":
        sets = ", ".join(f"p.{c} = s.{c}" for c in PROFILE_COLUMNS)
        return f"""UPDATE crm_userprofile p JOIN crm_profilestage s ON p.customer_id = s.customer_id
            SET {sets}, p.updated_at = :as_of WHERE s.prev_stage IS NOT NULL AND ({changed})"""
    sets = ", ".join(f"{c} = s.{c}" for c in PROFILE_COLUMNS)
    return f"""UPDATE crm_userprofile AS p SET {sets}, updated_at = :as_of FROM crm_profilestage s
        WHERE p.customer_id = s.customer_id AND s.prev_stage IS NOT NULL AND ({changed})"""
