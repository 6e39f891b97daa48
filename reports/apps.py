"""The reports app: money in and out, sales, customers, cohorts, the reconciliation of the
ledger, the owner's dashboard, /financial_report and the daily report."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from django.contrib import admin

        # the owner's dashboard on the admin's front page, above the model list (reports/dashboard/)
        admin.site.index_template = "admin/reports/index.html"
