"""The owner's dashboard in a real browser: headless Chromium (Debian's chromium + chromium-driver,
which .ci/run installs) on the live server, logged in as an Owner: the figures, the charts (inline
SVG) and the warnings show, in English and in Persian (right to left), and the page fetches
nothing from outside the shop (it must work where the admin has no internet).

Screenshots land in var/artifacts/reports/."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from reports.models import ReconciliationRun
from reports.services import period_parse, report_financial
from tests.chromium import headless_chromium
from tests.reports.shop_data import a_day_of_trade

pytestmark = pytest.mark.django_db(transaction=True)  # the live server reads what the test writes

ARTIFACTS = Path(django_settings.BASE_DIR) / "var" / "artifacts" / "reports"


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium(window="1366,1800")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def owner_browser(browser, live_server):
    """The browser logged in as an Owner (the session of a test client, handed to the browser)."""
    user = User.objects.create_user("owner-in-browser", password="pw", is_staff=True)
    owner, _ = Group.objects.get_or_create(name="Owner")  # a flushed database (transaction=True) lost the roles
    owner.permissions.add(*Permission.objects.filter(codename__in=("view_reports", "view_payment", "review_payment",
                                                                   "view_customer", "view_reconciliationrun")))
    user.groups.add(owner)
    client = Client()
    client.force_login(user)
    browser.get(f"{live_server.url}/admin/login/")
    browser.delete_all_cookies()
    browser.add_cookie({"name": django_settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value, "path": "/"})
    yield browser
    browser.delete_all_cookies()
    browser.get("about:blank")


def open_dashboard(driver, live_server, language: str):
    driver.add_cookie({"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "path": "/"})
    driver.get(f"{live_server.url}/admin/")
    try:
        WebDriverWait(driver, 15).until(ec.visibility_of_element_located((By.ID, "owner-dashboard")))
    except TimeoutException:
        driver.save_screenshot(str(ARTIFACTS / "failed.png"))
        raise AssertionError("no dashboard (failed.png): " + driver.find_element(By.TAG_NAME, "body").text) from None


def outside(driver, base: str) -> set[str]:
    names = driver.execute_script("return performance.getEntriesByType('resource').map(function (e) { return e.name; })")
    return {name for name in names if urlsplit(name).netloc != urlsplit(base).netloc}


def test_the_owner_sees_the_dashboard_drawn_without_the_internet(owner_browser, live_server, fake_telegram):
    driver = owner_browser
    a_day_of_trade()
    ReconciliationRun.objects.create(ok=False, problem_count=2, by="nightly")
    open_dashboard(driver, live_server, "en")
    report = report_financial(period_parse("today"), with_reconciliation=False)
    today = driver.find_element(By.CSS_SELECTOR, '[data-period="0"] tr[data-key="net_amount"] .rpt-value')
    assert today.text == f"{report['net_amount']:,} Toman" == "350,000 Toman"
    warning = driver.find_element(By.ID, "rpt-reconciliation-broken")
    assert warning.is_displayed() and "found 2 problems" in warning.text
    color = warning.value_of_css_property("color")
    assert color.startswith("rgba(186, 33, 33") or color.startswith("rgb(186, 33, 33"), color  # the admin's red
    receipts = driver.find_element(By.CSS_SELECTOR, '[data-action="receipts"] a')
    assert receipts.get_attribute("href").endswith("/admin/shop/payment/?status__exact=pending")
    for chart in driver.find_elements(By.CSS_SELECTOR, "[data-chart] svg"):
        box = driver.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", chart)
        assert box[0] > 300 and box[1] > 80, box
        assert len(chart.find_elements(By.TAG_NAME, "rect")) == 30
    bars = driver.find_elements(By.CSS_SELECTOR, '[data-chart="net_amount"] rect')
    assert bars[-1].size["height"] > 50 and bars[0].size["height"] == 0  # today's sales, none 29 days ago
    assert driver.find_element(By.CSS_SELECTOR, "#content-main .app-shop").is_displayed()  # the model list below
    assert outside(driver, live_server.url) == set()
    driver.save_screenshot(str(ARTIFACTS / "dashboard-en.png"))
    receipts.click()
    WebDriverWait(driver, 15).until(ec.url_contains("status__exact=pending"))
    assert len(driver.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")) == 1  # the one waiting


def test_the_dashboard_in_persian_reads_right_to_left(owner_browser, live_server, fake_telegram):
    driver = owner_browser
    a_day_of_trade()
    open_dashboard(driver, live_server, "fa")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    value = driver.find_element(By.CSS_SELECTOR, '[data-period="0"] tr[data-key="net_amount"] .rpt-value').text
    assert value.startswith("۳۵۰٬۰۰۰"), value
    cards = driver.find_elements(By.CSS_SELECTOR, ".rpt-period")
    assert cards[0].location["x"] > cards[1].location["x"]  # right to left: today on the right
    assert outside(driver, live_server.url) == set()
    driver.save_screenshot(str(ARTIFACTS / "dashboard-fa.png"))
