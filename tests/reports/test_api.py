"""The reports' staff API: each endpoint answers the service's own figures, as JSON, CSV and
XLSX; only staff holding reports.view_reports read it; a bad parameter is a 400 that says why."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from reports import services
from reports.services.periods import local_today
from tests.reports.xlsx import read_xlsx
from tests.roles import api_as
from vpnbot.shop.models import Customer, WalletTransaction

pytestmark = pytest.mark.django_db
ENDPOINTS = ("financial", "sales", "customers", "cohorts", "reconciliation", "ledger")


@pytest.fixture
def accountant():
    return api_as("accountant")


@pytest.fixture
def days():
    """Yesterday to tomorrow (local): the shop's rows made now are inside, whatever the hour."""
    today = local_today()
    first, last = today - timedelta(days=1), today + timedelta(days=1)
    return {"from": first.isoformat(), "to": last.isoformat(), "calendar": "gregorian"}, services.day_range(first, last)


def _without_seconds(data):
    """The same answer without when the checks ran and how long they took (they differ between
    two runs)."""
    if isinstance(data, dict):
        return {k: _without_seconds(v) for k, v in data.items() if k not in ("seconds", "checked_at")}
    if isinstance(data, list):
        return [_without_seconds(v) for v in data]
    return data


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(body[1:])))


def test_each_report_answers_the_services_figures(shop, accountant, days):
    params, period = days
    financial = accountant.get("/api/v1/reports/financial/", params)
    assert financial.status_code == 200, financial.content
    data = financial.json()
    assert _without_seconds(data) == _without_seconds(services.report_financial(period))
    assert (data["orders"], data["gross_amount"], data["net_amount"], data["refund_amount"]) == (3, 300_000, 300_000,
                                                                                                100_000)
    assert data["topup_amount_by_method"]["card"] == 550_000 and data["new_customers"] == 2
    assert data["wallet_liability_amount"] == sum(Customer.objects.values_list("balance_amount", flat=True))
    assert data["reconciliation"]["ok"] is True and data["reconciliation"]["problems"] == []
    for name, service in (("sales", services.report_sales), ("customers", services.report_customers)):
        response = accountant.get(f"/api/v1/reports/{name}/", params)
        assert response.status_code == 200 and response.json() == service(period), name
    assert accountant.get("/api/v1/reports/sales/", params).json()["by_plan"][0]["orders"] == 3
    cohorts = accountant.get("/api/v1/reports/cohorts/", {"months": 3, "calendar": "gregorian"})
    assert cohorts.json() == services.report_cohorts(3, calendar="gregorian")
    assert cohorts.json()["cohorts"][-1]["customers"] == 2
    whole = accountant.get("/api/v1/reports/reconciliation/")
    assert _without_seconds(whole.json()) == _without_seconds(services.reconcile().as_dict())
    assert whole.json()["scope"] == "all"
    scoped = accountant.get("/api/v1/reports/reconciliation/", params).json()
    assert scoped["scope"] == f"{period.first_day}..{period.last_day}" and scoped["ok"] is True


def test_on_a_big_ledger_the_reconciliation_answers_the_latest_full_run(shop, accountant, settings):
    """Checking millions of rows inside a request would pass any proxy's timeout: over
    REPORTS_LIVE_RECONCILE_ROWS the endpoint answers the latest full run, and says when it ran."""
    from reports.models import ReconciliationRun

    run = ReconciliationRun.objects.create(ok=False, problem_count=1, ledger_total_amount=7, balance_total_amount=9,
                                           problems=[{"check": "totals", "message": "off", "count": 1, "rows": []}])
    settings.REPORTS_LIVE_RECONCILE_ROWS = 3  # the shop's ledger has more rows than that
    whole = accountant.get("/api/v1/reports/reconciliation/").json()
    assert (whole["ok"], whole["scope"], whole["checked_at"]) == (False, "all", run.started_at.isoformat())
    assert whole["problems"][0]["check"] == "totals"
    settings.REPORTS_LIVE_RECONCILE_ROWS = 10_000  # a small shop is checked now
    assert accountant.get("/api/v1/reports/reconciliation/").json()["ok"] is True


def test_without_dates_a_report_covers_this_month_so_far(shop, accountant):
    data = accountant.get("/api/v1/reports/financial/", {"calendar": "gregorian"}).json()
    assert data["to"] == local_today().isoformat() and data["from"] == local_today().replace(day=1).isoformat()
    jalali = accountant.get("/api/v1/reports/financial/").json()  # the CALENDAR setting: jalali
    assert jalali["calendar"] == "jalali" and jalali["label"].startswith("14")


def test_a_jalali_date_is_read_as_jalali(shop, accountant):
    import jdatetime

    today = jdatetime.date.fromgregorian(date=local_today())
    data = accountant.get("/api/v1/reports/financial/", {"from": today.strftime("%Y-%m-%d"),
                                                          "to": today.strftime("%Y-%m-%d")}).json()
    assert data["from"] == data["to"] == local_today().isoformat()


def test_the_ledger_pages_in_the_order_it_was_written(shop, accountant, days):
    params, _period = days
    rows = list(WalletTransaction.objects.order_by("pk"))
    page = accountant.get("/api/v1/reports/ledger/", {**params, "limit": 3}).json()
    assert page["count"] == len(rows) and page["next"] and page["previous"] is None
    assert [r["id"] for r in page["results"]] == [r.pk for r in rows[:3]]
    first = page["results"][0]
    assert (first["amount"], first["balance_after"], first["reason"], first["source"]) == (
        rows[0].amount, rows[0].balance_after, rows[0].reason, rows[0].source)
    assert first["customer_id"] == rows[0].customer_id and first["telegram_id"] == rows[0].customer.telegram_id
    assert first["created_at"].endswith("+03:30")  # the shop's time zone (Tehran)
    second = accountant.get(page["next"]).json()
    assert [r["id"] for r in second["results"]] == [r.pk for r in rows[3:6]] and second["previous"]


def test_csv_and_xlsx_of_a_report_hold_its_figures(shop, accountant, days):
    params, period = days
    expected = services.report_financial(period)
    response = accountant.get("/api/v1/reports/financial/", {**params, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and ".csv" in response["Content-Disposition"]
    figures = {row["figure"]: row["value"] for row in _csv(response)}
    for key in ("orders", "gross_amount", "discount_amount", "net_amount", "refund_amount", "cashback_paid_amount",
                "cashback_reversed_amount", "wallet_liability_amount", "new_customers"):
        assert figures[key] == str(expected[key]), key
    assert figures["topup_amount_by_method.card"] == "550000" and figures["reconciliation.ok"] == "true"
    xlsx = accountant.get("/api/v1/reports/financial/", {**params, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"] == services.exports.XLSX_TYPE
    sheets = read_xlsx(b"".join(xlsx.streaming_content))
    cells = {row[0]: row[1] for row in sheets["financial"][1:]}
    assert cells["net_amount"] == expected["net_amount"] and cells["topup_amount_by_method.card"] == 550_000
    sales = _csv(accountant.get("/api/v1/reports/sales/", {**params, "format": "csv"}))
    plan_rows = [r for r in sales if r["table"] == "by_plan"]
    assert plan_rows == [{"table": "by_plan", "key": str(shop.plan.pk), "name": shop.plan.name, "orders": "3",
                          "gross_amount": "300000", "net_amount": "300000"}]
    cohorts = read_xlsx(b"".join(accountant.get("/api/v1/reports/cohorts/", {"months": 2, "format": "xlsx",
                                                                           "calendar": "gregorian"}).streaming_content))
    assert set(cohorts) == {"revenue", "buyers", "ltv"} and cohorts["revenue"][0] == ["cohort", "customers", "m0", "m1"]
    assert cohorts["revenue"][-1][:3] == [services.report_cohorts(2, calendar="gregorian")["cohorts"][-1]["cohort"], 2,
                                          200_000]  # 300,000 paid less 100,000 refunded


def test_an_accept_header_also_chooses_csv(shop, accountant, days):
    params, _period = days
    response = accountant.get("/api/v1/reports/customers/", params, HTTP_ACCEPT="text/csv")
    assert response["Content-Type"].startswith("text/csv")
    summary = {r["figure"]: r["value"] for r in _csv(response) if r["table"] == "summary"}
    assert summary["active_subscribers"] == "2" and summary["paying_customers"] == "2"


def test_the_ledger_as_csv_and_xlsx(shop, accountant, days):
    params, _period = days
    rows = list(WalletTransaction.objects.order_by("pk"))
    lines = _csv(accountant.get("/api/v1/reports/ledger/", {**params, "format": "csv"}))
    assert [int(r["id"]) for r in lines] == [r.pk for r in rows]
    assert [int(r["amount"]) for r in lines] == [r.amount for r in rows]
    assert lines[0]["source"] == rows[0].source and lines[0]["date"] == local_today().isoformat()
    sheet = read_xlsx(b"".join(accountant.get("/api/v1/reports/ledger/", {**params, "format": "xlsx"})
                               .streaming_content))["ledger"]
    assert sheet[0] == services.exports.LEDGER_HEADERS
    assert [r[0] for r in sheet[1:]] == [r.pk for r in rows] and [r[6] for r in sheet[1:]] == [r.amount for r in rows]


@pytest.mark.parametrize("role", ["nobody", "support", "accountant", "owner"])
def test_only_staff_with_view_reports_read_them(db, role):
    client = api_as(role)
    for name in ENDPOINTS:
        for fmt in ("json", "csv"):
            response = client.get(f"/api/v1/reports/{name}/", {"format": fmt})
            assert response.status_code == (200 if role in ("accountant", "owner") else 403), (role, name, fmt)
            if response.status_code == 403:
                assert response["Content-Type"] == "application/json" and "detail" in response.json()


def test_a_staff_user_given_the_permission_reads_and_anonymous_never(db):
    anonymous = APIClient()
    for name in ENDPOINTS:
        assert anonymous.get(f"/api/v1/reports/{name}/").status_code in (401, 403)
        assert anonymous.get(f"/api/v1/reports/{name}/", {"format": "xlsx"}).status_code in (401, 403)
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_reports", content_type__app_label="reports"))
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/api/v1/reports/financial/").status_code == 200
    customer = User.objects.create_user("not-staff", password="pw")
    customer.user_permissions.add(Permission.objects.get(codename="view_reports"))
    client.force_authenticate(customer)
    assert client.get("/api/v1/reports/financial/").status_code == 403


BAD = [
    ("financial", {"from": "yesterday", "to": "2026-01-01"}, "from"),
    ("financial", {"from": "2026-02-30", "to": "2026-03-01"}, "from"),
    ("sales", {"from": "2026-03-10", "to": "2026-03-01"}, "to"),
    ("customers", {"from": "2026-03-01"}, "to"),
    ("ledger", {"to": "2026-03-01"}, "from"),
    ("ledger", {"from": "2000-01-01", "to": "2026-03-01"}, "to"),  # over the 3660 days of a report
    ("financial", {"from": "2999-12-31", "to": "2999-12-31"}, "from"),
    ("financial", {"from": "9999-12-31", "to": "9999-12-31"}, "from"),
    ("financial", {"calendar": "lunar"}, "calendar"),
    ("reconciliation", {"from": "2026-03-01"}, "to"),
    ("cohorts", {"months": "0"}, "months"),
    ("cohorts", {"months": "37"}, "months"),
    ("cohorts", {"months": "twelve"}, "months"),
    ("cohorts", {"months": "-1"}, "months"),
    ("cohorts", {"months": "99999999"}, "months"),
    ("ledger", {"format": "pdf"}, "format"),
    ("financial", {"format": "xlsx", "from": "x", "to": "y"}, "from"),
]


@pytest.mark.parametrize(("name", "params", "field"), BAD, ids=[f"{b[0]}-{b[2]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_parameter_is_a_400_naming_it(db, accountant, name, params, field):
    response = accountant.get(f"/api/v1/reports/{name}/", params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert field in response.json() and response.json()[field][0]


def test_an_unknown_format_is_refused_only_after_the_permission_check(db):
    assert api_as("support").get("/api/v1/reports/financial/", {"format": "pdf"}).status_code == 403
    assert APIClient().get("/api/v1/reports/financial/", {"format": "pdf"}).status_code in (401, 403)


def test_the_reports_are_in_the_api_front_page_and_schema(db, accountant):
    roots = accountant.get("/api/v1/").json()
    assert roots["reports-financial"].endswith("/api/v1/reports/financial/")
    admin = User.objects.create_superuser("schema-reader", "s@example.com", "pw")
    client = APIClient()
    client.force_authenticate(admin)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for name in ENDPOINTS:
        operation = schema["paths"][f"/api/v1/reports/{name}/"]["get"]
        assert "text/csv" in operation["responses"]["200"]["content"], name
        assert any(p["name"] == "format" for p in operation["parameters"]), name
