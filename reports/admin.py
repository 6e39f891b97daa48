"""The reconciliation runs in the admin, read only: when each ran, whether the ledger
reconciled, and each failed check with its rows; and the kept days the reports sum (read only:
`manage.py reports_rollup` writes them)."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from vpnbot.core.admin_tools import ReadOnlyAdmin

from .models import ReconciliationRun, RollupDay
from .services.runs import problem_line


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "ok", "problem_count", "by", "seconds")
    list_filter = ("ok", "by")
    date_hierarchy = "started_at"
    fields = ("started_at", "ok", "problem_count", "ledger_total_amount", "balance_total_amount", "seconds", "by",
              "problems_readable")
    readonly_fields = fields

    @admin.display(description=_("problems found"))
    def problems_readable(self, run: ReconciliationRun):
        if not run.problems:
            return _("None: every check passed.")
        return format_html_join("", "<div style='margin-bottom:1em'><strong>{}</strong> <code>{}</code>{}</div>", (
            (problem_line(problem), problem.get("check", ""), _rows(problem.get("rows") or []))
            for problem in run.problems))


@admin.register(RollupDay)
class RollupDayAdmin(ReadOnlyAdmin):
    list_display = ("day", "zone", "ledger_rows", "ledger_total_amount", "computed_at")
    list_filter = ("zone",)
    date_hierarchy = "day"
    fields = list_display
    readonly_fields = fields


def _rows(rows: list[dict]):
    if not rows:
        return ""
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", (
        (", ".join(f"{key}={value}" for key, value in row.items()),) for row in rows)))
