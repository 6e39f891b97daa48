"""The reports' staff API routes under /api/v1/ (collected by vpnbot.core.api_urls)."""

from django.urls import path

from . import api

api_urlpatterns = [
    path("reports/financial/", api.FinancialReportView.as_view(), name="report-financial"),
    path("reports/sales/", api.SalesReportView.as_view(), name="report-sales"),
    path("reports/customers/", api.CustomersReportView.as_view(), name="report-customers"),
    path("reports/cohorts/", api.CohortsReportView.as_view(), name="report-cohorts"),
    path("reports/reconciliation/", api.ReconciliationView.as_view(), name="report-reconciliation"),
    path("reports/ledger/", api.LedgerView.as_view(), name="report-ledger"),
]
api_roots = {"reports-financial": "report-financial", "reports-sales": "report-sales",
             "reports-customers": "report-customers", "reports-cohorts": "report-cohorts",
             "reports-reconciliation": "report-reconciliation", "reports-ledger": "report-ledger"}
