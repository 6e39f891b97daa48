"""Exports for the owner's accountant: any report as tables, and the raw wallet ledger of a
period, in CSV (streamed line by line) and XLSX (XlsxWriter in constant_memory mode, written
row by row into a file the caller streams back). Memory stays flat whatever the period: the
ledger rows are read in chunks and never held together.

Dates are in the shop's time zone (the ledger's `created_at` as a local date and time, and its
local day in the period's calendar); amounts are integers of the shop's currency."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import xlsxwriter
from django.db import connections

from .common import ledger
from .periods import Period, day_label, shop_zone

CHUNK = 2000
XLSX_MAX_ROWS = 1_048_576  # a worksheet's rows (the header included); the ledger goes on in a next sheet
LEDGER_HEADERS = ["id", "created_at", "date", "customer_id", "telegram_id", "reason", "amount", "balance_after",
                  "source", "note"]
LEDGER_FIELDS = ("pk", "created_at", "customer_id", "customer__telegram_id", "reason", "amount", "balance_after",
                  "source", "note")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)


# --- the raw ledger -----------------------------------------------------------------------------------

def _stream(queryset, chunk: int) -> Iterator[tuple]:
    """The rows in primary key order, `chunk` at a time. PostgreSQL and SQLite stream one query
    (a server-side cursor, fetchmany); MySQL/MariaDB's driver would load a whole result into
    memory, so there the rows come in keyset pages (pk > the last one seen)."""
    if connections[queryset.db].vendor != "mysql":
        yield from queryset.iterator(chunk_size=chunk)
        return
    last = None
    while True:
        page = list((queryset if last is None else queryset.filter(pk__gt=last))[:chunk])
        yield from page
        if len(page) < chunk:
            return
        last = page[-1][0]


def ledger_queryset(period: Period):
    """The period's ledger rows as tuples of LEDGER_FIELDS, in the order they were written."""
    return ledger(period).values_list(*LEDGER_FIELDS).order_by("pk")


class LedgerRow:
    """Turns LEDGER_FIELDS tuples into LEDGER_HEADERS values: created_at as an aware local
    datetime, date as the local day in the period's calendar (labels kept per day)."""

    def __init__(self, calendar: str):
        self.zone, self.calendar, self.labels = shop_zone(), calendar, {}

    def __call__(self, values: tuple) -> list:
        pk, created, customer_id, telegram_id, reason, amount, balance_after, source, note = values
        local = created.astimezone(self.zone).replace(microsecond=0)
        day = local.date()
        if day not in self.labels:
            self.labels[day] = day_label(day, self.calendar)
        return [pk, local, self.labels[day], customer_id, telegram_id, reason, amount, balance_after, source, note]


def ledger_rows(period: Period, *, chunk: int = CHUNK) -> Iterator[list]:
    """The period's ledger rows as LEDGER_HEADERS values, created_at as a naive local datetime."""
    row = LedgerRow(period.calendar)
    for values in _stream(ledger_queryset(period), chunk):
        values = row(values)
        values[1] = values[1].replace(tzinfo=None)
        yield values


def ledger_csv(period: Period) -> Iterator[str]:
    """The period's ledger as CSV lines (the header first)."""
    return csv_lines(LEDGER_HEADERS, ledger_rows(period))


def ledger_xlsx(period: Period, fileobj) -> int:
    """Write the XLSX of the period's ledger to a binary file object; returns the row count."""
    workbook = xlsxwriter.Workbook(fileobj, {"constant_memory": True})
    formats = _formats(workbook)
    sheet, line, count, sheets = None, XLSX_MAX_ROWS, 0, 0
    for row in ledger_rows(period):
        if line >= XLSX_MAX_ROWS:
            sheets += 1
            sheet = _sheet(workbook, "ledger" if sheets == 1 else f"ledger {sheets}", LEDGER_HEADERS, formats,
                           widths={1: 19, 2: 11, 8: 24, 9: 30})
            line = 1
        _write(sheet, line, row, formats)
        line += 1
        count += 1
    if sheet is None:
        _sheet(workbook, "ledger", LEDGER_HEADERS, formats)
    workbook.close()
    return count


# --- writers ------------------------------------------------------------------------------------------

class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet would run it as a formula (a customer's name, a note)
    return value


def csv_lines(headers: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(headers)
    for row in rows:
        yield writer.writerow([_csv_cell(value) for value in row])


def _formats(workbook) -> dict:
    return {"header": workbook.add_format({"bold": True}),
            "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})}


def _sheet(workbook, title: str, headers: list[str], formats: dict, widths: dict | None = None):
    sheet = workbook.add_worksheet(title[:31])
    for column, width in (widths or {}).items():
        sheet.set_column(column, column, width)
    for column, header in enumerate(headers):
        sheet.write_string(0, column, header, formats["header"])
    sheet.freeze_panes(1, 0)
    return sheet


def _write(sheet, line: int, row: list, formats: dict) -> None:
    """A row, each value as its own type (a text is always a string, never read as a formula)."""
    for column, value in enumerate(row):
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            sheet.write_boolean(line, column, value)
        elif isinstance(value, int | float):
            sheet.write_number(line, column, value)
        elif isinstance(value, datetime):
            sheet.write_datetime(line, column, value, formats["datetime"])
        else:
            sheet.write_string(line, column, str(value))


# --- a report's tables --------------------------------------------------------------------------------

REPORTS = ("financial", "sales", "customers", "cohorts", "reconciliation")
_FIGURE = ["figure", "value"]
_SALES = ["key", "name", "orders", "gross_amount", "net_amount"]


def _figures(data: dict, keys: Iterable[str] | None = None, prefix: str = "") -> list[list]:
    """A dict's scalar figures as (name, value) rows, nested dicts as dotted names."""
    rows = []
    for key in keys if keys is not None else data:
        value = data.get(key)
        if isinstance(value, dict):
            rows += _figures(value, None, f"{prefix}{key}.")
        elif not isinstance(value, list):
            rows.append([prefix + key, value])
    return rows


def _reconciliation_figures(data: dict, prefix: str = "") -> list[list]:
    rows = _figures(data, ("scope", "ok", "ledger_total_amount", "balance_total_amount"), prefix)
    rows.append([f"{prefix}problem_count", len(data.get("problems", []))])
    rows += [[f"{prefix}problems.{p['check']}", p["count"]] for p in data.get("problems", [])]
    return rows


def report_tables(name: str, data: dict) -> list[Table]:
    """A report's answer (as its service returns it) as tables: one per sheet of its XLSX."""
    if name == "financial":
        rows = _figures({k: v for k, v in data.items() if k != "reconciliation"})
        if "reconciliation" in data:
            rows += _reconciliation_figures(data["reconciliation"], "reconciliation.")
        return [Table("financial", _FIGURE, rows)]
    if name == "sales":
        return [Table(key, _SALES, [[item["key"], item.get("name", ""), item["orders"], item["gross_amount"],
                                     item["net_amount"]] for item in data[key]])
                for key in ("by_plan", "by_panel", "by_reseller", "by_method")]
    if name == "customers":
        summary = _figures({k: v for k, v in data.items() if k != "renewal"})
        renewal = [[r["plan_id"], r["name"], r["ended"], r["renewed"], r["renewal_rate_bp"]] for r in data["renewal"]]
        return [Table("summary", _FIGURE, summary),
                Table("renewal", ["plan_id", "name", "ended", "renewed", "renewal_rate_bp"], renewal)]
    if name == "cohorts":
        months = data["months"]
        headers = ["cohort", "customers", *[f"m{i}" for i in range(months)]]
        return [Table(key, headers, [[c["cohort"], c["customers"], *c[field_]] for c in data["cohorts"]])
                for key, field_ in (("revenue", "revenue_amount"), ("buyers", "buyers"), ("ltv", "ltv_amount"))]
    if name == "reconciliation":
        problems = []
        for p in data["problems"]:
            for row in p["rows"] or [{}]:
                problems.append([p["check"], p["message"], p["count"],
                                 "; ".join(f"{k}={v}" for k, v in row.items())])
        return [Table("summary", _FIGURE, _reconciliation_figures(data)),
                Table("problems", ["check", "message", "count", "row"], problems)]
    raise ValueError(f"no such report: {name}")


def report_table(name: str, data: dict) -> tuple[list[str], list[list]]:
    """A report as one table (its CSV): a report of several tables gets a first column "table"
    naming each row's, and the union of their columns."""
    tables = report_tables(name, data)
    if len(tables) == 1:
        return tables[0].headers, tables[0].rows
    headers: list[str] = []
    for table in tables:
        headers += [h for h in table.headers if h not in headers]
    rows = []
    for table in tables:
        for row in table.rows:
            values = dict(zip(table.headers, row, strict=False))
            rows.append([table.title, *[values.get(h) for h in headers]])
    return ["table", *headers], rows


def report_csv(name: str, data: dict) -> Iterator[str]:
    headers, rows = report_table(name, data)
    return csv_lines(headers, rows)


def report_xlsx(name: str, data: dict, fileobj) -> int:
    """Write a report's XLSX (a sheet per table) to a binary file object; returns the row count."""
    workbook = xlsxwriter.Workbook(fileobj, {"constant_memory": True})
    formats = _formats(workbook)
    count = 0
    for table in report_tables(name, data):
        sheet = _sheet(workbook, table.title, table.headers, formats, widths={0: 28})
        for line, row in enumerate(table.rows, start=1):
            _write(sheet, line, row, formats)
        count += len(table.rows)
    workbook.close()
    return count
