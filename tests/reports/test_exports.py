"""The exports: the raw ledger of a period (CSV lines, XLSX rows) at the shop's local midnights,
in its time zone and calendar, read in chunks; any report's tables; texts never run as formulas."""

import csv
import io
from datetime import date, datetime, timedelta

import jdatetime
import pytest
import time_machine

from reports import services
from reports.services import exports
from tests.factories import CustomerFactory
from tests.reports.xlsx import read_xlsx
from vpnbot.shop.services import wallet_apply

pytestmark = pytest.mark.django_db


def _excel_datetime(serial: float) -> datetime:
    return (datetime(1899, 12, 30) + timedelta(days=serial)).replace(microsecond=0)


@pytest.fixture
def around_midnight():
    """Three ledger rows: one minute before Tehran's midnight of 2 March 2026 (20:29 UTC), one
    minute after, and one the next evening."""
    customer = CustomerFactory()
    rows = []
    for when, amount, note in (("2026-03-01 20:29:00+00:00", 1_000, "before"),
                               ("2026-03-01 20:31:00+00:00", 2_000, "=HYPERLINK(\"http://x\",\"pay\")"),
                               ("2026-03-02 17:00:00+00:00", -500, "-evening")):
        with time_machine.travel(when, tick=False):
            rows.append(wallet_apply(customer_id=customer.pk, amount=amount, reason="adjustment",
                                     source=f"test:{amount}", note=note))
    return customer, rows


def test_the_ledger_of_a_day_starts_at_the_local_midnight(around_midnight):
    customer, rows = around_midnight
    period = services.day_range(date(2026, 3, 2), date(2026, 3, 2))
    lines = list(csv.DictReader(io.StringIO("".join(exports.ledger_csv(period)))))
    assert [int(line["id"]) for line in lines] == [rows[1].pk, rows[2].pk]
    first = lines[0]
    assert first["created_at"] == "2026-03-02 00:01:00" and first["date"] == "2026-03-02"
    assert (first["customer_id"], first["telegram_id"], first["reason"], first["amount"], first["balance_after"]) == (
        str(customer.pk), str(customer.telegram_id), "adjustment", "2000", "3000")
    assert first["note"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    assert lines[1]["amount"] == "-500" and lines[1]["note"] == "'-evening" and lines[1]["created_at"] == "2026-03-02 20:30:00"
    jalali = services.day_range(date(2026, 3, 2), date(2026, 3, 2), calendar="jalali")
    day = next(csv.DictReader(io.StringIO("".join(exports.ledger_csv(jalali)))))["date"]
    assert day == jdatetime.date.fromgregorian(date=date(2026, 3, 2)).strftime("%Y/%m/%d") == "1404/12/11"


def test_the_ledger_xlsx_has_typed_cells_and_counts_its_rows(around_midnight):
    customer, rows = around_midnight
    period = services.day_range(date(2026, 3, 1), date(2026, 3, 2))
    buffer = io.BytesIO()
    assert exports.ledger_xlsx(period, buffer) == 3
    sheet = read_xlsx(buffer.getvalue())["ledger"]
    assert sheet[0] == exports.LEDGER_HEADERS
    assert [row[0] for row in sheet[1:]] == [r.pk for r in rows]
    assert [row[6] for row in sheet[1:]] == [1_000, 2_000, -500] and [row[7] for row in sheet[1:]] == [1_000, 3_000, 2_500]
    assert _excel_datetime(sheet[1][1]) == datetime(2026, 3, 1, 23, 59) and sheet[1][2] == "2026-03-01"
    assert sheet[2][9] == "=HYPERLINK(\"http://x\",\"pay\")"  # a string cell: written with write_string, no <f>
    with __import__("zipfile").ZipFile(io.BytesIO(buffer.getvalue())) as book:
        assert b"<f>" not in book.read("xl/worksheets/sheet1.xml")


def test_an_empty_period_gives_the_headers_only(db):
    period = services.day_range(date(2020, 1, 1), date(2020, 1, 31))
    assert list(exports.ledger_csv(period)) == [",".join(exports.LEDGER_HEADERS) + "\r\n"]
    buffer = io.BytesIO()
    assert exports.ledger_xlsx(period, buffer) == 0
    assert read_xlsx(buffer.getvalue()) == {"ledger": [exports.LEDGER_HEADERS]}


def test_a_ledger_longer_than_a_sheet_goes_on_in_the_next(around_midnight, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)  # the header and two rows a sheet
    _customer, rows = around_midnight
    buffer = io.BytesIO()
    assert exports.ledger_xlsx(services.day_range(date(2026, 3, 1), date(2026, 3, 2)), buffer) == 3
    sheets = read_xlsx(buffer.getvalue())
    assert list(sheets) == ["ledger", "ledger 2"]
    assert [r[0] for r in sheets["ledger"][1:]] + [r[0] for r in sheets["ledger 2"][1:]] == [r.pk for r in rows]


@pytest.mark.parametrize("vendor", ["as is", "mysql"])
def test_the_rows_are_read_in_chunks_in_order(around_midnight, monkeypatch, vendor):
    """In chunks of two: one streamed query, or keyset pages (MySQL/MariaDB: its driver would
    hold a whole result in memory)."""
    from django.db import connection

    if vendor == "mysql":
        monkeypatch.setattr(connection, "vendor", "mysql")
    extra = [wallet_apply(customer_id=around_midnight[0].pk, amount=10 + i, reason="adjustment",
                          source=f"test:chunk:{i}") for i in range(4)]
    period = services.day_range(date(2026, 3, 1), services.periods.local_today())
    ids = [row[0] for row in exports.ledger_rows(period, chunk=2)]
    assert ids == [r.pk for r in around_midnight[1]] + [r.pk for r in extra]


def test_a_report_of_several_tables_is_one_csv_with_a_table_column():
    data = {"from": "2026-03-01", "to": "2026-03-31",
            "by_plan": [{"key": 1, "name": "Gold", "orders": 2, "gross_amount": 300, "net_amount": 250}],
            "by_panel": [], "by_reseller": [],
            "by_method": [{"key": "wallet", "orders": 2, "gross_amount": 300, "net_amount": 250}]}
    headers, rows = exports.report_table("sales", data)
    assert headers == ["table", "key", "name", "orders", "gross_amount", "net_amount"]
    assert rows == [["by_plan", 1, "Gold", 2, 300, 250], ["by_method", "wallet", "", 2, 300, 250]]
    reconciliation = {"ok": False, "scope": "all", "ledger_total_amount": 10, "balance_total_amount": 12,
                      "seconds": 0.1, "problems": [
                          {"check": "balance", "message": "balances differ", "count": 1,
                           "rows": [{"pk": 7, "balance_amount": 12, "ledger_sum": 10}]}]}
    tables = exports.report_tables("reconciliation", reconciliation)
    assert [t.title for t in tables] == ["summary", "problems"]
    assert ["problem_count", 1] in tables[0].rows and ["ok", False] in tables[0].rows
    assert tables[1].rows == [["balance", "balances differ", 1, "pk=7; balance_amount=12; ledger_sum=10"]]
    lines = list(csv.reader(io.StringIO("".join(exports.report_csv("reconciliation", reconciliation)))))
    assert lines[0] == ["table", "figure", "value", "check", "message", "count", "row"]
    assert ["summary", "ok", "false", "", "", "", ""] in lines
    buffer = io.BytesIO()
    assert exports.report_xlsx("reconciliation", reconciliation, buffer) == len(tables[0].rows) + 1
    assert read_xlsx(buffer.getvalue())["problems"][1][:3] == ["balance", "balances differ", 1]
    with pytest.raises(ValueError):
        exports.report_tables("nonsense", {})
