"""The reports' staff API: the financial, sales and customers reports of a period, the monthly
cohorts, the reconciliation and the raw ledger. JSON by default; ?format=csv or ?format=xlsx
(or an Accept header naming text/csv or the XLSX type) downloads it for a spreadsheet.
Reading any of them needs reports.view_reports (the Owner and Accountant roles).

A period is ?from=YYYY-MM-DD&to=YYYY-MM-DD (local days, inclusive; a year below 1700 is
Jalali), this month so far when both are left out; ?calendar=jalali|gregorian (default the
CALENDAR setting) names its months and days. A bad parameter is a 400 with what is accepted."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from itertools import chain

from django.conf import settings
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from vpnbot.core.numbers import parse_whole_number
from vpnbot.core.pagination import Pagination
from vpnbot.core.permissions import staff_with

from . import serializers as shapes
from . import services
from .services import GREGORIAN, JALALI, Period, PeriodError, exports
from .services.cohorts import MAX_COHORT_MONTHS
from .services.periods import parse_day
from .services.reconcile import reconciliation_for

FORMATS = ("json", "csv", "xlsx")
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 30)


class CSVRenderer(BaseRenderer):
    """Declares text/csv (?format=csv); the views answer with a streamed file themselves."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else json.dumps(data).encode()


class XLSXRenderer(CSVRenderer):
    media_type = exports.XLSX_TYPE
    format = "xlsx"
    charset = None


# --- parameters -------------------------------------------------------------------------------------

def _bad(name: str, message: str) -> ValidationError:
    return ValidationError({name: [message]})


def calendar_param(request) -> str:
    value = request.query_params.get("calendar", "") or settings.CALENDAR
    if value not in (JALALI, GREGORIAN):
        raise _bad("calendar", _("One of: %(values)s.") % {"values": f"{JALALI}, {GREGORIAN}"})
    return value


def _day(request, name: str) -> date:
    try:
        day = parse_day(request.query_params[name])
    except PeriodError as exc:
        raise _bad(name, str(exc)) from None
    if not EARLIEST <= day <= LATEST:
        raise _bad(name, _("A date between %(first)s and %(last)s.") % {"first": EARLIEST, "last": LATEST})
    return day


def period_param(request, *, required: bool = False) -> Period | None:
    """?from&to (both or neither). Neither: this month so far, or None when not required."""
    calendar = calendar_param(request)
    given = [name for name in ("from", "to") if request.query_params.get(name, "").strip()]
    if len(given) == 1:
        missing = "to" if given == ["from"] else "from"
        raise _bad(missing, _("Give both from and to (YYYY-MM-DD), or neither."))
    try:
        if not given:
            return services.period_parse("month", calendar=calendar) if required else None
        return services.day_range(_day(request, "from"), _day(request, "to"), calendar=calendar)
    except PeriodError as exc:
        raise _bad("to", str(exc)) from None


def months_param(request) -> int:
    months = parse_whole_number(request.query_params.get("months", "").strip() or "12", max_digits=3)
    if months is None or not 1 <= months <= MAX_COHORT_MONTHS:
        raise _bad("months", _("A whole number from 1 to %(n)s.") % {"n": MAX_COHORT_MONTHS})
    return months


CALENDAR = OpenApiParameter("calendar", str, enum=[JALALI, GREGORIAN],
                            description="Months and day labels: Jalali or Gregorian (default: the CALENDAR setting)")
FROM = OpenApiParameter("from", OpenApiTypes.DATE, description="The first local day, YYYY-MM-DD (a year below "
                        "1700 is Jalali); with `to`. Both left out: this month so far")
TO = OpenApiParameter("to", OpenApiTypes.DATE, description="The last local day, inclusive; with `from`")
FORMAT = OpenApiParameter("format", str, enum=list(FORMATS),
                          description="json (default), csv (streamed, UTF-8 with a BOM) or xlsx")
PERIOD = [FROM, TO, CALENDAR, FORMAT]


def _responses(shape, what: str) -> dict:
    return {(200, "application/json"): shape,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=f"{what} as CSV"),
            (200, exports.XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description=f"{what} as XLSX"),
            (400, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="A bad parameter: {name: [what is accepted]}"),
            (403, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="Not staff with reports.view_reports")}


# --- views ------------------------------------------------------------------------------------------

def _csv_response(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chain(["\ufeff"], lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _xlsx_response(write, filename: str) -> FileResponse:
    """write(fileobj) fills a temporary file, streamed back and removed when sent."""
    handle = tempfile.TemporaryFile()
    try:
        write(handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return FileResponse(handle, as_attachment=True, filename=f"{filename}.xlsx", content_type=exports.XLSX_TYPE)


class ReportView(APIView):
    """A report of the staff API: JSON, CSV or XLSX of one service's answer."""

    permission_classes = staff_with("reports.view_reports")
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer, XLSXRenderer]
    report = ""
    unknown_format = ""

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # ?format= that no renderer has: refused after the permission check
            self.unknown_format = request.query_params.get("format", "") or "?"
            return JSONRenderer(), JSONRenderer.media_type

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.unknown_format:
            raise _bad("format", _("One of: %(values)s.") % {"values": ", ".join(FORMATS)})

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # an error is JSON whatever the format asked for
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return response

    @property
    def export_format(self) -> str:
        return getattr(self.request.accepted_renderer, "format", "json")

    def answer(self, data: dict, filename: str):
        if self.export_format == "csv":
            return _csv_response(exports.report_csv(self.report, data), filename)
        if self.export_format == "xlsx":
            return _xlsx_response(lambda handle: exports.report_xlsx(self.report, data, handle), filename)
        return Response(data)


def _name(report: str, period: Period | None) -> str:
    if period is None:
        return report
    return f"{report}-{period.first_day.isoformat()}_{period.last_day.isoformat()}"


class FinancialReportView(ReportView):
    report = "financial"

    @extend_schema(parameters=PERIOD, responses=_responses(shapes.FinancialSerializer, "The report"))
    def get(self, request):
        """Money in and out over the period, with the reconciliation of its rows."""
        period = period_param(request, required=True)
        return self.answer(services.report_financial(period), _name(self.report, period))


class SalesReportView(ReportView):
    report = "sales"

    @extend_schema(parameters=PERIOD, responses=_responses(shapes.SalesSerializer, "The report (one table per row "
                                                                                  "kind, named in column `table`)"))
    def get(self, request):
        """The period's paid orders by plan, panel, reseller and payment method."""
        period = period_param(request, required=True)
        return self.answer(services.report_sales(period), _name(self.report, period))


class CustomersReportView(ReportView):
    report = "customers"

    @extend_schema(parameters=PERIOD, responses=_responses(shapes.CustomersSerializer, "The report"))
    def get(self, request):
        """Subscribers now; renewals, churn and revenue per customer (ARPU, ARPPU) over the period."""
        period = period_param(request, required=True)
        return self.answer(services.report_customers(period), _name(self.report, period))


class CohortsReportView(ReportView):
    report = "cohorts"

    @extend_schema(parameters=[OpenApiParameter("months", int, description=f"1 to {MAX_COHORT_MONTHS} (default 12)"),
                               CALENDAR, FORMAT],
                   responses=_responses(shapes.CohortsSerializer, "The cohorts (revenue, buyers, ltv)"))
    def get(self, request):
        """The last N monthly cohorts (customers by the month they joined) and their lifetime value."""
        months, calendar = months_param(request), calendar_param(request)
        return self.answer(services.report_cohorts(months, calendar=calendar), f"cohorts-{months}m")


class ReconciliationView(ReportView):
    report = "reconciliation"

    @extend_schema(parameters=[
        OpenApiParameter("from", OpenApiTypes.DATE, description="With `to`: check only the rows of these days "
                                                               "(left out: everything)"),
        TO, CALENDAR, FORMAT], responses=_responses(shapes.ReconciliationSerializer, "The problems"))
    def get(self, request):
        """The ledger against the balances and every row that moves money (the nightly checks),
        run now; on a ledger (or period) of more than REPORTS_LIVE_RECONCILE_ROWS rows, the latest
        full run's answer (`checked_at` says when; `manage.py reconcile` checks now). `ok` is
        false with the problems listed when anything does not add up."""
        period = period_param(request)
        return self.answer(reconciliation_for(period), _name(self.report, period))


class LedgerView(ReportView):
    report = "ledger"

    @extend_schema(parameters=[*PERIOD, OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
                   responses=_responses(shapes.LedgerPageSerializer, "Every row of the period (not paged)"))
    def get(self, request):
        """The raw wallet ledger of the period, in the order it was written: JSON pages
        (?limit=&offset=), or the whole period as CSV or XLSX (streamed)."""
        period = period_param(request, required=True)
        filename = _name(self.report, period)
        if self.export_format == "csv":
            return _csv_response(exports.ledger_csv(period), filename)
        if self.export_format == "xlsx":
            return _xlsx_response(lambda handle: exports.ledger_xlsx(period, handle), filename)
        paginator = Pagination()
        page = paginator.paginate_queryset(exports.ledger_queryset(period), request, view=self)
        row = exports.LedgerRow(period.calendar)
        results = [dict(zip(exports.LEDGER_HEADERS, row(values), strict=True)) for values in page]
        return paginator.get_paginated_response(results)
