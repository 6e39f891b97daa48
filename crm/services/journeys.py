"""The customer's journey in the recompute's SQL: the stage each run derives from the
segment, the won-back time, and one CustomerJourney row per stage change."""

from __future__ import annotations


def stage_sql(segment: str) -> str:
    """The journey stage of a scratch row whose segment is the expression `segment`:
    visitor → first purchase → repeat → loyal, or the at-risk/churned/won-back segment."""
    return f"""CASE
            WHEN {segment} IN ('churned', 'at_risk', 'won_back') THEN {segment}
            WHEN buyer = 0 THEN 'visitor'
            WHEN frequency >= :loyal THEN 'loyal'
            WHEN frequency >= 2 THEN 'repeat'
            ELSE 'first_purchase' END"""


def won_back_sql(segment: str) -> str:
    """When the customer was won back: this run, if they were churned before; else as it was."""
    return f"CASE WHEN {segment} = 'won_back' AND prev_stage = 'churned' THEN :as_of ELSE prev_won_back_at END"


def journey_sql() -> str:
    return """INSERT INTO crm_customerjourney (customer_id, from_stage, stage, at)
        SELECT customer_id, COALESCE(prev_stage, 'visitor'), stage, :as_of FROM crm_profilestage
        WHERE stage <> COALESCE(prev_stage, 'visitor')"""
