"""The segment rules in the recompute's SQL: which segment a customer is in, their churn
risk and its weekly baseline, from the thresholds in the settings."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from .journeys import stage_sql, won_back_sql
from .sql import days_between, int_div

# Evaluated in this order as of the run's timestamp; the first that holds wins (docs/crm.md).
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


def rule_params(as_of: datetime) -> dict:
    """The thresholds the rules compare with, as of the run's timestamp."""
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
    }


def churn_risk_sql() -> str:
    return f"""CASE
        WHEN buyer = 0 THEN 0
        WHEN active_until IS NULL AND last_expired_at < :churn_before THEN 100
        WHEN active_until IS NULL THEN 70 + {int_div(days_between("last_expired_at", ":as_of") + " * 29", ":grace")}
        WHEN active_until <= :risk_until
            THEN 40 + {int_div("(:risk_days - " + days_between(":as_of", "active_until") + ") * 29", ":risk_days")}
        WHEN frequency >= 2 THEN 10
        ELSE 20 END"""


def baseline_sql(risk: str) -> tuple[str, str]:
    """The weekly churn-risk baseline and its time: taken from `risk` when a week has passed.
    Both read the old baseline_at."""
    stale = "baseline_at IS NULL OR baseline_at < :week_ago"
    return (f"CASE WHEN {stale} THEN {risk} ELSE churn_risk_baseline END",
            f"CASE WHEN {stale} THEN :as_of ELSE baseline_at END")


def derive_sql() -> str:
    """One UPDATE of the scratch table: segment, stage, won-back time, churn risk and its weekly
    baseline. Every expression reads only columns this statement does not assign (MySQL
    evaluates assignments left to right with the new values), except the baseline pair, which
    is ordered so that both read the old baseline_at."""
    segment, risk = f"({SEGMENT_SQL})", f"({churn_risk_sql()})"
    baseline, baseline_at = baseline_sql(risk)
    return f"""UPDATE crm_profilestage SET
        segment = {segment},
        stage = {stage_sql(segment)},
        won_back_at = {won_back_sql(segment)},
        churn_risk = {risk},
        churn_risk_baseline = {baseline},
        baseline_at = {baseline_at}"""
