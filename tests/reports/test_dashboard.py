"""The owner's dashboard on the admin's front page: the figures are the reports' services' own,
the waiting receipts link to their list, a broken reconciliation is shouted, the jobs and the
backups show their health, and only readers of the reports see any of it."""

import re
from datetime import timedelta

import jdatetime
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from backups.models import Backup
from reports.dashboard.figures import CHART_DAYS
from reports.models import ReconciliationRun
from reports.services import period_parse, report_financial, series
from reports.services.periods import local_today
from tests.admin_i18n import assert_hides, assert_shows
from tests.reports.shop_data import a_day_of_trade
from tests.roles import user_in
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db
ROW = re.compile(r'<tr data-key="(\w+)" data-value="(-?\d+)" data-previous="(-?\d+)">')


def staff(role: str) -> User:
    return user_in(role)


@pytest.fixture
def owner(client):
    user = staff("Owner")
    client.force_login(user)
    return user


def front_page(client, language="en"):
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    return page


def figures(page) -> list[dict[str, tuple[int, int]]]:
    """Each period's figures as the page carries them: {key: (value, previous)}, today first."""
    html = page.content.decode()
    blocks = html.split('class="rpt-card rpt-period"')[1:]
    return [{key: (int(v), int(p)) for key, v, p in ROW.findall(block.split("</table>")[0])} for block in blocks]


def test_the_owner_reads_today_and_this_month_as_the_services_count_them(client, owner, fake_telegram):
    a_day_of_trade()
    page = front_page(client)
    today, month = figures(page)
    for shown, name in ((today, "today"), (month, "month")):
        period = period_parse(name, calendar="gregorian")
        report = report_financial(period, with_reconciliation=False)
        before = report_financial(period.previous(), with_reconciliation=False)
        for key in ("net_amount", "orders", "new_customers", "topup_amount", "refund_amount", "wallet_liability_amount"):
            assert shown[key] == (report[key], before[key]), (name, key)
    # the small day itself: three orders (one refunded), one receipt, two new customers
    assert today["net_amount"][0] == 350_000 and today["orders"][0] == 3 and today["new_customers"][0] == 2
    assert today["topup_amount"][0] == 300_000 and today["refund_amount"][0] == 100_000
    balances = sum(Customer.objects.values_list("balance_amount", flat=True))
    assert today["wallet_liability_amount"] == (balances, 0) and balances >= 400_000 + 300_000 - 350_000 + 100_000
    assert_shows(page, "Shop dashboard", "Net sales", "350,000 Toman", "Wallet liability", f"{balances:,} Toman")
    html = page.content.decode()
    tone = dict(re.findall(r'<tr data-key="(\w+)".*?rpt-tone-(\w+)" data-direction="up"', html, re.S)[:6])
    assert tone == {"net_amount": "good", "orders": "good", "new_customers": "good", "topup_amount": "good",
                    "refund_amount": "bad", "wallet_liability_amount": "same"}  # more refunds are bad news


def test_the_charts_are_drawn_on_the_page_from_the_series(client, owner, fake_telegram):
    a_day_of_trade()
    html = front_page(client).content.decode()
    assert "<script" not in html.split('id="owner-dashboard"')[1].split("</section>")[0]
    charts = dict(re.findall(r'data-chart="(\w+)">(.*?)</svg>', html, re.S))
    today = local_today()
    last_days = series(period_parse(f"{today - timedelta(days=CHART_DAYS - 1)} {today}"), "day")
    for key in ("net_amount", "new_customers"):
        bars = [int(v) for v in re.findall(r'data-value="(\d+)"', charts[key])]
        assert bars == last_days[key] and len(bars) == CHART_DAYS
    assert bars[-1] == 2 and f"{today.isoformat()}: 350,000 Toman" in charts["net_amount"]


def test_what_waits_for_a_person_links_to_its_list(client, owner, fake_telegram):
    a_day_of_trade()
    page = front_page(client)
    html = page.content.decode()
    receipts = re.search(r'<tr data-action="receipts" data-count="(\d+)">.*?href="([^"]+)"', html, re.S)
    assert receipts.groups() == ("1", "/admin/shop/payment/?status__exact=pending")
    listed = client.get(receipts.group(2))
    assert listed.status_code == 200 and listed.context["cl"].result_count == 1
    assert re.search(r'data-action="payments" data-count="0">.*?href="/admin/payments/payment/\?status__exact=held"',
                     html, re.S)
    assert re.search(r'data-action="risk" data-count="0">.*?href="/admin/antifraud/riskcase/\?status__exact=held"',
                     html, re.S)


def test_a_broken_reconciliation_is_shouted_and_a_whole_one_is_quiet(client, owner):
    ReconciliationRun.objects.create(ok=True, by="nightly", started_at=timezone.now() - timedelta(days=1))
    page = front_page(client)
    assert 'id="rpt-reconciliation" data-ok="yes"' in page.content.decode()
    assert_shows(page, "the ledger reconciles")
    assert_hides(page, "found 3 problems")
    ReconciliationRun.objects.create(ok=False, problem_count=3, by="nightly")
    page = front_page(client)
    assert 'id="rpt-reconciliation-broken"' in page.content.decode()
    assert 'id="rpt-reconciliation" data-ok="no"' in page.content.decode()
    assert_shows(page, "found 3 problems", "⚠️ 3 problems")


def test_late_and_disabled_jobs_and_the_backups_age(client, owner):
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    now = timezone.now()
    PeriodicTask.objects.create(name="test: stuck job", task="x.y", interval=every_minute,
                                last_run_at=now - timedelta(hours=2))
    PeriodicTask.objects.create(name="test: fresh job", task="x.z", interval=every_minute,
                                last_run_at=now - timedelta(seconds=30))
    PeriodicTask.objects.create(name="test: switched off", task="x.w", interval=every_minute, enabled=False)
    html = front_page(client).content.decode()
    assert 'data-job="test: stuck job" data-state="late"' in html
    assert 'data-job="test: fresh job" data-state="ok"' in html
    assert 'data-job="test: switched off" data-state="off"' in html
    late = int(re.search(r'id="rpt-jobs-summary" data-late="(\d+)"', html).group(1))
    assert late >= 1
    # the list of jobs is linked for whoever may read it (the superuser; not the Owner group)
    assert ('href="/admin/django_celery_beat/periodictask/"' in html) == owner.has_perm(
        "django_celery_beat.view_periodictask")
    assert 'id="rpt-backup" data-stale="yes"' in html and "no backup yet" in html
    Backup.objects.create(kind=Backup.Kind.DAILY, status=Backup.Status.SUCCEEDED, vendor="sqlite")
    Backup.objects.filter(kind=Backup.Kind.DAILY).update(created_at=now - timedelta(hours=3))
    html = front_page(client).content.decode()
    assert 'id="rpt-backup" data-stale="no"' in html and "3\xa0hours ago" in html
    Backup.objects.filter(kind=Backup.Kind.DAILY).update(created_at=now - timedelta(days=2))
    assert 'id="rpt-backup" data-stale="yes"' in front_page(client).content.decode()


@pytest.mark.parametrize("role", ["Owner", "Accountant"])
def test_the_readers_of_the_reports_see_the_dashboard(client, role, fake_telegram):
    a_day_of_trade()
    client.force_login(staff(role))
    page = front_page(client)
    assert_shows(page, "Shop dashboard", "350,000 Toman")


@pytest.mark.parametrize("role", ["Support", "nobody"])
def test_staff_without_the_reports_see_the_usual_index_and_no_money(client, role, fake_telegram):
    a_day_of_trade()
    ReconciliationRun.objects.create(ok=False, problem_count=3)
    client.force_login(staff(role))
    page = front_page(client)
    html = page.content.decode()
    assert 'id="owner-dashboard"' not in html and "rpt-" not in html
    assert_hides(page, "Shop dashboard", "350,000", "Net sales", "Wallet liability", "problems")
    if role == "Support":  # the model list is still there
        assert 'href="/admin/shop/payment/"' in html


def test_a_persian_reader_gets_jalali_days_and_persian_digits(client, owner, fake_telegram):
    a_day_of_trade()
    page = front_page(client, "fa")
    html = page.content.decode()
    assert html.startswith('<!DOCTYPE html>\n\n<html lang="fa" dir="rtl">')
    today = jdatetime.date.fromgregorian(date=local_today()).strftime("%Y/%m/%d")
    persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    assert today.translate(persian) in html
    assert "۳۵۰٬۰۰۰" in html and "350,000" not in html
    assert figures(page)[0]["net_amount"][0] == 350_000  # the same figure underneath
    month = period_parse("month", calendar="jalali")
    assert figures(page)[1]["orders"] == (report_financial(month, with_reconciliation=False)["orders"],
                                          report_financial(month.previous(), with_reconciliation=False)["orders"])


def test_the_page_asks_the_same_few_queries_however_much_was_sold(client, owner, fake_telegram):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            front_page(client)
        return len(captured)

    a_day_of_trade()
    few = queries()
    for tag in ("b", "c", "d"):
        a_day_of_trade(tag)
    assert queries() == few
    assert few <= 45, few  # 41 today: the session, the user, and per period the kept days and the live rest


def test_the_accountants_files_are_linked_and_open_with_the_admins_login(client, fake_telegram):
    """The dashboard links this month's and last month's files; the links work with the admin's
    session (no API token needed) and answer the files the reports API makes."""
    client.force_login(staff("Accountant"))
    a_day_of_trade()
    html = front_page(client).content.decode()
    links = re.findall(r'<tr data-export="(\w+)">.*?<a href="([^"]+)">XLSX</a> · <a href="([^"]+)">CSV</a>', html, re.S)
    assert [key for key, _x, _c in links] == ["financial", "sales", "ledger"] * 2
    month = period_parse("month", calendar="gregorian")
    ledger_xlsx, ledger_csv = links[2][1].replace("&amp;", "&"), links[2][2].replace("&amp;", "&")
    assert f"from={month.first_day.isoformat()}" in ledger_csv and "format=csv" in ledger_csv
    answer = client.get(ledger_csv)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    lines = b"".join(answer.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + _ledger_rows(month).count() and _ledger_rows(month).count() >= 5  # header + rows
    xlsx = client.get(ledger_xlsx)
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content)[:2] == b"PK"  # a zip: the XLSX file


def _ledger_rows(period):
    from vpnbot.shop.models import WalletTransaction

    return WalletTransaction.objects.filter(created_at__gte=period.start, created_at__lt=period.end)


def test_switched_off_the_owner_sees_the_usual_index(client, owner, settings, fake_telegram):
    a_day_of_trade()
    settings.ENABLE_REPORTS = False
    html = front_page(client).content.decode()
    assert 'id="owner-dashboard"' not in html and 'href="/admin/shop/payment/"' in html
