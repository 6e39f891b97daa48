"""The reports' operations, by subject: periods (what a period means), financial (money in and
out), sales (by plan, panel, reseller, method), customers (subscribers, renewals, churn, ARPU,
cohorts) and reconcile (the ledger against everything that moves money)."""

from .cohorts import report_cohorts
from .customers import report_customers
from .financial import report_financial, series
from .periods import GREGORIAN, JALALI, Period, PeriodError, calendar_for, day_range, period_parse
from .reconcile import Reconciliation, reconcile
from .sales import report_sales

__all__ = [
    "GREGORIAN", "JALALI", "Period", "PeriodError", "Reconciliation", "calendar_for", "day_range", "period_parse",
    "reconcile", "report_cohorts", "report_customers", "report_financial", "report_sales", "series",
]
