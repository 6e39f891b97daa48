"""The reconciliation as a recorded run (the nightly job and `manage.py reconcile`): run
`reconcile()` on everything, keep a ReconciliationRun, and tell the admins once when the ledger
stops reconciling (the last run was whole, this one is not) and once when it is whole again.

Overlapping runs: the job holds the "reconcile" lock row; a second run meanwhile skips. The
alerts also carry a dedup key made of the run before the change, so even a run that repeats
(a task delivered twice) tells nobody twice."""

from __future__ import annotations

import html
import logging
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vpnbot.transport import messages

from ..models import ReconciliationRun, ReportsLock
from .cohorts import cohort_months_missing
from .reconcile import Reconciliation, reconcile
from .rollup import rollup_missing

log = logging.getLogger(__name__)

LOCK_SECONDS = 3600  # a holder that crashed frees the lock after this long
ALERT_KIND = "reconciliation"
SHOWN_PROBLEMS = 8  # the alert names this many checks; the admin and the command show all


@contextmanager
def reports_lock(name: str, *, holder: str, seconds: int = LOCK_SECONDS):
    """Hold the named lock: yields True when taken, False when another holder has it."""
    now = timezone.now()
    taken = False
    for _attempt in range(2):
        try:
            with transaction.atomic():
                ReportsLock.objects.create(name=name, holder=holder[:200], acquired_at=now,
                                           expires_at=now + timedelta(seconds=seconds))
            taken = True
            break
        except IntegrityError:
            # a crashed holder's row: remove it only while it is still the expired one
            if not ReportsLock.objects.filter(name=name, expires_at__lte=now).delete()[0]:
                break
    try:
        yield taken
    finally:
        if taken:
            ReportsLock.objects.filter(name=name, acquired_at=now, holder=holder[:200]).delete()


def last_run() -> ReconciliationRun | None:
    return ReconciliationRun.objects.order_by("-started_at", "-pk").first()


def reconciliation_run(*, by: str = "nightly") -> ReconciliationRun | None:
    """Reconcile everything, keep the run, alert on a change of state. None when another run
    holds the lock (nothing is done)."""
    with reports_lock("reconcile", holder=by) as taken:
        if not taken:
            log.info("reconciliation: another run holds the lock; skipped")
            return None
        previous = last_run()
        started = timezone.now()
        result = reconcile()
        run = ReconciliationRun.objects.create(
            started_at=started, seconds=round(result.seconds, 3), ok=result.ok,
            problem_count=len(result.problems), problems=[p.as_dict() for p in result.problems],
            ledger_total_amount=result.ledger_total_amount, balance_total_amount=result.balance_total_amount,
            by=by[:100])
        _alert(previous, run)
    return run


def rollup_run(*, by: str = "nightly", **options) -> dict | None:
    """Roll up the closed days not kept yet (rollup.rollup_missing) under the "rollup" lock;
    None when another run holds it."""
    with reports_lock("rollup", holder=by) as taken:
        if not taken:
            log.info("rollup: another run holds the lock; skipped")
            return None
        done = rollup_missing(**options)
        done["cohort_months"] = cohort_months_missing(rebuild=options.get("rebuild", False))
    log.info("rollup: %(days)s days (%(first)s..%(last)s) in %(seconds)s s", done)
    return done


def _alert(previous: ReconciliationRun | None, run: ReconciliationRun) -> None:
    was_ok = previous is None or previous.ok
    after = previous.pk if previous is not None else 0
    if was_ok and not run.ok:
        messages.notify_admins(lambda: broken_text(run), kind=ALERT_KIND, dedup_key=f"broken:after:{after}")
    elif not was_ok and run.ok:
        messages.notify_admins(lambda: whole_text(run), kind=ALERT_KIND, dedup_key=f"whole:after:{after}")


def broken_text(run: ReconciliationRun) -> str:
    lines = ["🔴 " + ngettext("The wallet ledger does not reconcile: %(n)s check failed.",
                             "The wallet ledger does not reconcile: %(n)s checks failed.",
                             run.problem_count) % {"n": run.problem_count}]
    for problem in run.problems[:SHOWN_PROBLEMS]:
        lines.append(f"• {html.escape(problem_line(problem))}")
    if run.problem_count > SHOWN_PROBLEMS:
        lines.append(_("… and %(n)s more.") % {"n": run.problem_count - SHOWN_PROBLEMS})
    lines.append(_("Details: Reconciliation runs in the admin, or manage.py reconcile."))
    return "\n".join(lines)


def whole_text(run: ReconciliationRun) -> str:
    return "🟢 " + _("The wallet ledger reconciles again: the balances total %(total)s and every check passes.") % {
        "total": f"{run.balance_total_amount:,}"}


def problem_line(problem: dict) -> str:
    """One failed check as a person reads it: its message, how many rows, the first row's ids."""
    line = _("%(message)s: %(count)s") % {"message": problem.get("message", problem.get("check", "")),
                                         "count": problem.get("count", 0)}
    rows = problem.get("rows") or []
    if rows:
        ids = ", ".join(str(row.get("pk", "")) for row in rows[:5] if row.get("pk") is not None)
        if ids:
            line += " " + _("(ids %(ids)s)") % {"ids": ids}
    return line


def as_text(result: Reconciliation | ReconciliationRun) -> str:
    """The command's readable report of a reconciliation."""
    problems = [p.as_dict() for p in result.problems] if isinstance(result, Reconciliation) else result.problems
    lines = [_("Ledger total: %(ledger)s; balances total: %(balances)s.") % {
        "ledger": f"{result.ledger_total_amount:,}", "balances": f"{result.balance_total_amount:,}"}]
    if not problems:
        lines.append(_("The ledger reconciles: every check passed."))
        return "\n".join(lines)
    lines.append(ngettext("%(n)s check failed:", "%(n)s checks failed:", len(problems)) % {"n": len(problems)})
    for problem in problems:
        lines.append(f"- [{problem['check']}] " + problem_line(problem))
        for row in problem.get("rows") or []:
            lines.append("    " + ", ".join(f"{key}={value}" for key, value in row.items()))
    return "\n".join(lines)
