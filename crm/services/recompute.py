"""The set-based recompute of every profile: one timestamp, one lock, a handful of statements
(written in profile_metrics, segment_rules, journeys and insights).

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

The same statements serve PostgreSQL, MariaDB and SQLite (profile_metrics says why). On
PostgreSQL steps 1 and 2 are one INSERT ... SELECT (stage_fill_postgres_sql): one sequential
read of shop_order and of shop_subscription, each sorted once, and every scratch row written
once instead of three times. It yields the same rows as the portable statements
(tests/crm/test_profile_metrics.py compares the two on random data).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import ProfileStage, RecomputeLock, RecomputeRun
from .insights import insight_params, insight_statements, segment_growth_insights
from .journeys import journey_sql
from .offers import offers_expire, offers_generate
from .profile_metrics import (
    insert_profiles_sql,
    scores_sql,
    stage_fill_postgres_sql,
    stage_fill_sql,
    update_profiles_sql,
)
from .segment_rules import derive_sql, rule_params
from .sql import execute, vendor

log = logging.getLogger(__name__)

# PostgreSQL computes the scratch rows in one statement (stage_fill_postgres_sql); False
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


def _stage_empty(cursor) -> None:
    """Empty the scratch table. TRUNCATE on PostgreSQL (no dead rows left behind for the next
    run to skip over; the run holds the lock, so its exclusive lock on the table waits for no one)."""
    if vendor() == "postgresql":
        cursor.execute("TRUNCATE crm_profilestage")
    else:
        ProfileStage.objects.all().delete()


def profiles_recompute(*, as_of: datetime | None = None, make_offers: bool | None = None) -> RecomputeRun | None:
    """Recompute every profile as of one timestamp. Returns the run, or None when the CRM is
    off or another recompute is running (it holds the lock row)."""
    if not settings.ENABLE_CRM:
        return None
    as_of = as_of or timezone.now()
    params = rule_params(as_of) | insight_params(as_of)
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
                count = execute(cursor, sql, params)
                log.debug("crm recompute: %s: %s rows in %.2fs", label, count, time.monotonic() - t0)
                return count

            postgres = vendor() == "postgresql"

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
                                    stage_fill_postgres_sql())
                for name in POSTGRES_FILL_SETTINGS:
                    cursor.execute(f"RESET {name}")
            else:
                run.profiles = step("aggregates", stage_fill_sql())
            if postgres:  # fresh statistics for the planner: the scratch rows are new
                for table in ("crm_profilestage", "crm_userprofile", "crm_userinsight"):
                    cursor.execute(f"ANALYZE {table}")
            if not (postgres and POSTGRES_SINGLE_PASS):
                step("quintiles", scores_sql())
                step("segments, stages, churn risk", derive_sql())
            insights = dict(insight_statements())
            run.insights = insight_step("churn_risk_up", insights.pop("churn_risk_up"))
            run.journey_steps = step("journey", journey_sql())
            run.created = step("new profiles", insert_profiles_sql())
            run.changed = step("changed profiles", update_profiles_sql())
            run.insights += sum(insight_step(kind, sql) for kind, sql in insights.items())
            step("segment counts", "SELECT segment, COUNT(*) FROM crm_userprofile GROUP BY segment")
            run.segment_counts = {segment: count for segment, count in cursor.fetchall()}
            t0 = time.monotonic()
            _stage_empty(cursor)
            log.debug("crm recompute: scratch table emptied in %.2fs", time.monotonic() - t0)
        run.insights += segment_growth_insights(run, as_of)
        if make_offers if make_offers is not None else settings.CRM_AUTO_OFFERS:
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
