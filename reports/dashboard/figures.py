"""What the owner's dashboard shows (the admin's front page), collected in one read-only
function: today's and this month's key figures against the period before, the last 30 days'
sales and new customers, what waits for a person, the scheduled jobs, the backups and the last
reconciliation. Every figure comes from the reports' services as an SQL aggregate; the number
of queries does not grow with the rows."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat.models import PeriodicTask

from antifraud.models import RiskCase
from backups.models import Backup
from backups.selectors import backup_newest_made
from backups.services import STALE_AFTER
from payments.models import Payment as OnlinePayment
from vpnbot.shop.models import Payment

from ..models import ReconciliationRun
from ..services import financial
from ..services.periods import Period, calendar_for, day_range, month_of, month_period, period_parse
from ..services.rollup import period_figures
from . import display
from .svg import bar_chart

PERMISSION = "reports.view_reports"
CHART_DAYS = 30
JOB_GRACE = timedelta(minutes=10)  # a job this much past its due time is late
# whether a rise is good news (green) or bad (red); the liability is neither
_RISE_IS_GOOD = {"up": "good", "down": "bad"}
TONE = {"net_amount": _RISE_IS_GOOD, "orders": _RISE_IS_GOOD, "new_customers": _RISE_IS_GOOD,
        "topup_amount": _RISE_IS_GOOD, "refund_amount": {"up": "bad", "down": "good"}, "wallet_liability_amount": {}}


def key_figures(period: Period) -> dict[str, int]:
    """The dashboard's figures of a period, under the names report_financial gives them."""
    figures, _live_from = period_figures(period)
    sales, moves = financial.sales_totals(figures), financial.ledger_totals(figures)
    return {
        "net_amount": sales["net"],
        "orders": sales["orders"],
        "new_customers": figures.get(("joined", ""), [0, 0])[1],
        "topup_amount": sum(moves["topups"].values()),
        "refund_amount": moves["refunds"]["wallet"],
        "wallet_liability_amount": financial.liability_at(period.end),
    }


def _titles() -> list[tuple[str, str]]:
    return [("net_amount", _("Net sales")), ("orders", _("Orders")), ("new_customers", _("New customers")),
            ("topup_amount", _("Top-ups")), ("refund_amount", _("Refunds")),
            ("wallet_liability_amount", _("Wallet liability"))]


def compared(title: str, period: Period, language: str) -> dict:
    """A period's key figures beside the previous period's (Period.previous())."""
    before = period.previous()
    now, then = key_figures(period), key_figures(before)
    rows = []
    for key, name in _titles():
        fmt = display.amount if key.endswith("_amount") else display.number
        text, direction = display.change(now[key], then[key], language)
        rows.append({"key": key, "title": name, "value": now[key], "text": fmt(now[key], language),
                     "previous": then[key], "previous_text": fmt(then[key], language), "change": text,
                     "direction": direction, "tone": TONE[key].get(direction, "same")})
    return {"title": title, "label": _span(period, language), "previous_label": _span(before, language),
            "figures": rows}


def _span(period: Period, language: str) -> str:
    first, last = display.day(period.first_day, language), display.day(period.last_day, language)
    return first if first == last else f"{first} – {last}"


def charts(today: Period, language: str) -> list[dict]:
    """The last CHART_DAYS days, today included: net sales and new customers per day."""
    days = day_range(today.first_day - timedelta(days=CHART_DAYS - 1), today.first_day, calendar=today.calendar)
    data = financial.series(days, "day")
    labels = [display.digits(label, language) for label in data["labels"]]
    sales_title = _("Net sales per day, last %(n)s days") % {"n": CHART_DAYS}
    customers_title = _("New customers per day, last %(n)s days") % {"n": CHART_DAYS}
    return [
        {"key": "net_amount", "title": sales_title, "total": display.amount(sum(data["net_amount"]), language),
         "svg": bar_chart(labels, data["net_amount"], title=sales_title,
                          fmt=lambda v: display.amount(v, language))},
        {"key": "new_customers", "title": customers_title, "total": display.number(sum(data["new_customers"]), language),
         "svg": bar_chart(labels, data["new_customers"], title=customers_title, color="#79aec8",
                          fmt=lambda v: display.number(v, language))},
    ]


def _admin_link(user, app: str, model: str, query: str = "") -> str:
    if not user.has_perm(f"{app}.view_{model}"):
        return ""
    try:
        return reverse(f"admin:{app}_{model}_changelist") + query
    except NoReverseMatch:  # the model has no admin page
        return ""


def needs_action(user, language: str) -> list[dict]:
    """Receipts waiting for review, online payments and risk cases held for a person."""
    items = [
        ("receipts", _("Receipts to review"), Payment.objects.filter(status=Payment.Status.PENDING).count(),
         _admin_link(user, "shop", "payment", "?status__exact=pending")),
        ("payments", _("Held online payments"), OnlinePayment.objects.filter(status=OnlinePayment.Status.HELD).count(),
         _admin_link(user, "payments", "payment", "?status__exact=held")),
        ("risk", _("Held risk cases"), RiskCase.objects.filter(status=RiskCase.Status.HELD).count(),
         _admin_link(user, "antifraud", "riskcase", "?status__exact=held")),
    ]
    return [{"key": key, "title": title, "count": count, "text": display.number(count, language), "url": url}
            for key, title, count, url in items]


def job_state(task: PeriodicTask) -> str:
    """off (disabled), late (past its due time by JOB_GRACE), waiting (never ran, not yet due),
    ok, or unknown (a schedule that cannot say when it is due)."""
    if not task.enabled:
        return "off"
    try:
        remaining = task.schedule.remaining_estimate(task.last_run_at or task.date_changed)
    except Exception:  # noqa: BLE001 - a schedule that cannot say is shown as such, not as a failure
        return "unknown"
    if remaining < -JOB_GRACE:
        return "late"
    return "ok" if task.last_run_at else "waiting"


def jobs(user, now, language: str) -> dict:
    """The scheduled jobs (django-celery-beat) with their state and last run, late ones first."""
    labels = {"ok": _("on time"), "late": _("late"), "waiting": _("not run yet"), "off": _("disabled"),
              "unknown": _("unknown")}
    rows = []
    for task in PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked").order_by("name"):
        state = job_state(task)
        rows.append({"name": task.name, "state": state, "state_text": labels[state],
                     "last_run": display.moment(task.last_run_at, language),
                     "ago": display.ago(task.last_run_at, now, language), "runs": task.total_run_count})
    order = {"late": 0, "unknown": 1, "waiting": 2, "ok": 3, "off": 4}
    rows.sort(key=lambda row: order[row["state"]])
    counts = {state: sum(1 for row in rows if row["state"] == state) for state in labels}
    summary = _("%(late)s late, %(ok)s on time, %(waiting)s not run yet, %(off)s disabled, of %(total)s") % {
        key: display.number(n, language) for key, n in (*((state, counts[state]) for state in ("late", "ok", "waiting", "off")),
                                                          ("total", len(rows)))}
    return {"rows": rows, "late": counts["late"], "summary": summary,
            "url": _admin_link(user, "django_celery_beat", "periodictask")}


def backups(user, now, language: str) -> dict:
    """The newest backup made (of any kind) and its age; stale past the daily backup's limit."""
    newest = backup_newest_made()
    at = newest.created_at if newest else None
    return {"at": display.moment(at, language), "ago": display.ago(at, now, language),
            "stale": at is None or now - at > STALE_AFTER[Backup.Kind.DAILY],
            "name": str(newest) if newest else "", "url": _admin_link(user, "backups", "backup")}


def reconciliation(user, now, language: str) -> dict | None:
    run = ReconciliationRun.objects.only("started_at", "ok", "problem_count", "by").first()
    if run is None:
        return None
    return {"ok": run.ok, "problems": run.problem_count, "problems_text": display.number(run.problem_count, language),
            "at": display.moment(run.started_at, language), "ago": display.ago(run.started_at, now, language),
            "url": _admin_link(user, "reports", "reconciliationrun")}


EXPORTS = (("financial", gettext_lazy("Money in and out")), ("sales", gettext_lazy("Sales by plan, panel, reseller and method")),
           ("ledger", gettext_lazy("The wallet ledger, row by row")))


def month_before(period: Period) -> Period:
    """The whole calendar month before the period's first day."""
    return month_period(*month_of(period.first_day - timedelta(days=1), period.calendar), calendar=period.calendar)


def exports(month, language: str) -> list[dict]:
    """Links to the staff API's CSV and XLSX files (the admin's login is enough) for this month
    so far and the whole month before: what the accountant downloads."""
    rows = []
    for title, period in ((_("This month"), month), (_("Last month"), month_before(month))):
        query = urlencode({"from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
                           "calendar": period.calendar})
        rows.append({"title": title, "label": display.digits(period.label, language),
                     "files": [{"key": key, "title": name,
                                "csv": f"{reverse('report-' + key)}?{query}&format=csv",
                                "xlsx": f"{reverse('report-' + key)}?{query}&format=xlsx"} for key, name in EXPORTS]})
    return rows


def dashboard_collect(*, user, language: str, now=None) -> dict | None:
    """Everything the front page shows, or None for a user who may not read the reports (and
    for everyone while ENABLE_REPORTS is off: the usual index)."""
    if not settings.ENABLE_REPORTS or not user.has_perm(PERMISSION):
        return None
    now = now or timezone.now()
    calendar = calendar_for(language)
    today = period_parse("today", calendar=calendar, now=now)
    month = period_parse("month", calendar=calendar, now=now)
    return {
        "periods": [compared(_("Today"), today, language), compared(_("This month"), month, language)],
        "charts": charts(today, language),
        "actions": needs_action(user, language),
        "jobs": jobs(user, now, language),
        "backup": backups(user, now, language),
        "reconciliation": reconciliation(user, now, language),
        "exports": exports(month, language),
        "now": display.moment(now, language),
    }


__all__ = ["PERMISSION", "dashboard_collect", "job_state", "key_figures"]
