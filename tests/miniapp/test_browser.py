"""The Mini App in a real browser: headless Chromium (Debian's chromium + chromium-driver, which
.ci/run installs) on the live server, with a stand-in Telegram.WebApp injected before the page's
scripts run, carrying a correctly signed initData and recording what the page asks of Telegram.
telegram.org is blocked, as the page must start without Telegram's SDK script.

Screenshots of every page land in var/artifacts/miniapp/ (see docs/miniapp.md)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from discounts.services import discount_create_code
from miniapp.views import TELEGRAM_SDK
from tests.chromium import headless_chromium
from tests.factories import CustomerFactory, PlanFactory
from tests.miniapp.conftest import init_data_for, telegram_user
from vpnbot.shop.models import Order, Subscription

pytestmark = pytest.mark.django_db(transaction=True)  # the live server reads what the test writes

ARTIFACTS = Path(django_settings.BASE_DIR) / "var" / "artifacts" / "miniapp"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
DARK = {"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499", "link_color": "#6ab3f3",
        "button_color": "#5288c1", "button_text_color": "#ffffff", "secondary_bg_color": "#232e3c",
        "section_bg_color": "#1d2733"}
LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#999999", "link_color": "#2481cc",
         "button_color": "#2481cc", "button_text_color": "#ffffff", "secondary_bg_color": "#efeff3"}

# The stand-in for Telegram's SDK: what Telegram.WebApp gives a Mini App, recording every call
# in window.__tg.calls (and the page's script errors and CSP refusals in window.__tg.errors).
STAND_IN = """
(function () {
  var tg = window.__tg = { calls: [], errors: [], back: [] };
  function record(name) {
    return function () {
      var args = Array.prototype.slice.call(arguments).filter(function (a) { return typeof a !== "function"; });
      tg.calls.push([name].concat(args));
    };
  }
  window.addEventListener("error", function (e) { tg.errors.push("error: " + e.message); });
  document.addEventListener("securitypolicyviolation", function (e) {
    tg.errors.push("csp: " + e.violatedDirective + " " + e.blockedURI);
  });
  var config = %(config)s;
  window.Telegram = { WebApp: {
    initData: config.initData, initDataUnsafe: { user: config.user, auth_date: config.authDate },
    version: "8.0", platform: "android", colorScheme: config.scheme, themeParams: config.theme,
    safeAreaInset: { top: 24, bottom: 16, left: 0, right: 0 }, contentSafeAreaInset: { top: 8, bottom: 0, left: 0, right: 0 },
    isVersionAtLeast: function () { return true; },
    ready: record("ready"), expand: record("expand"), close: record("close"),
    onEvent: record("onEvent"), offEvent: record("offEvent"),
    openLink: record("openLink"), openTelegramLink: record("openTelegramLink"),
    openInvoice: function (url, callback) { tg.calls.push(["openInvoice", url]); tg.invoiceCallback = callback; },
    showConfirm: function (text, callback) { tg.calls.push(["showConfirm", text]); callback(true); },
    HapticFeedback: { notificationOccurred: record("haptic"), impactOccurred: record("impact"), selectionChanged: record("selection") },
    BackButton: { isVisible: false,
      show: function () { this.isVisible = true; tg.calls.push(["BackButton.show"]); },
      hide: function () { this.isVisible = false; tg.calls.push(["BackButton.hide"]); },
      onClick: function (fn) { tg.back.push(fn); }, offClick: function () {} },
    MainButton: { show: record("MainButton.show"), hide: record("MainButton.hide"), setText: record("MainButton.setText"),
      onClick: function () {} }
  } };
  tg.pressBack = function () { tg.back.forEach(function (fn) { fn(); }); };
})();
"""


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium(window="390,844")
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*telegram.org/*"]})  # the SDK is not reachable here
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


class App:
    """The Mini App open in the browser for one Telegram user."""

    def __init__(self, driver, live_server, user: dict, *, scheme: str = "light", theme: dict | None = None):
        self.driver = driver
        self.base = live_server.url
        self.user = user
        config = {"initData": init_data_for(user, django_settings.TELEGRAM_BOT_TOKEN), "user": user, "authDate": 0,
                  "scheme": scheme, "theme": theme or LIGHT}
        self.script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                             {"source": STAND_IN % {"config": json.dumps(config)}})["identifier"]
        driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": self.base,
                                                            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})

    def close(self):
        self.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": self.script})
        self.driver.get("about:blank")

    def open(self, route: str = "plans"):
        self.driver.get(f"{self.base}/app/#{route}")

    def go(self, route: str):
        self.driver.execute_script("location.hash = arguments[0]", route)

    def _until(self, condition, what: str, timeout: float):
        try:
            return WebDriverWait(self.driver, timeout).until(condition)
        except TimeoutException:
            self.shot("failed")
            page = self.js("return document.body.innerText")
            raise AssertionError(f"{what} did not come (failed.png); the page says:\n{page}\nTelegram calls: "
                                 f"{self.calls()}\nerrors: {self.errors()}") from None

    def wait(self, css: str, timeout: float = 15):
        return self._until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)), css, timeout)

    def wait_text(self, css: str, text: str, timeout: float = 15):
        self._until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), f"{text!r} in {css}", timeout)
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def click(self, css: str):
        element = self.wait(css)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        self._until(ec.element_to_be_clickable((By.CSS_SELECTOR, css)), f"{css} clickable", 10)
        element.click()

    def calls(self, name: str | None = None) -> list:
        calls = self.driver.execute_script("return window.__tg.calls")
        return [c for c in calls if name is None or c[0] == name]

    def errors(self) -> list:
        return self.driver.execute_script("return window.__tg.errors")

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def shot(self, name: str):
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    def fetched(self) -> set[str]:
        """Every address the page fetched from elsewhere than the shop (scripts, styles, API calls)."""
        names = self.js("return performance.getEntriesByType('resource').map(function (e) { return e.name; })")
        return {name for name in names if urlsplit(name).netloc != urlsplit(self.base).netloc}


@pytest.fixture
def open_app(browser, live_server):
    opened = []

    def make(user, **kwargs) -> App:
        app = App(browser, live_server, user, **kwargs)
        opened.append(app)
        return app

    yield make
    for app in opened:
        app.close()


@pytest.fixture
def shop(db, settings, fake_telegram):
    """Two plans and a discount code; Telegram is the fake (a purchase sends its messages there)."""
    settings.ENABLE_SMART_DISCOUNTS = True
    settings.DEFAULT_CASHBACK_PERCENT = 0
    basic = PlanFactory(name="Basic", price_amount=100_000, duration_days=30, traffic_gb=50, device_limit=2)
    PlanFactory(name="Family", price_amount=250_000, duration_days=30, traffic_gb=0, device_limit=5)
    discount_create_code(label="Spring sale", percent_bp=1000, code="SPRING10", max_uses=10,
                         valid_until=timezone.now() + timedelta(days=7))
    return basic


def _customer(user: dict, language: str, balance: int = 500_000):
    return CustomerFactory.with_balance(balance, telegram_id=user["id"], language=language, first_name=user["first_name"],
                                        username=user["username"])


def _buy_from_the_wallet(app: App, plan, *, code: str = ""):
    app.click(f'[data-plan="{plan.pk}"]')
    app.wait("#quote dl")
    if code:
        app.wait("#code").send_keys(code)
        app.click("#apply-code")
        app.wait_text("#quote", "Spring sale")
    app.click("#pay-wallet")
    app.wait("#see-services")


def test_a_customer_buys_with_a_code_from_the_wallet_and_copies_the_link(open_app, shop, provisioner):
    user = telegram_user("en")
    customer = _customer(user, "en")
    app = open_app(user)
    app.open()

    cards = app.wait(".plan")
    assert "Basic" in cards.text and "100,000" in cards.text
    assert app.wait_text("#balance", "500,000").is_displayed()
    app.shot("en-plans")

    app.click(f'[data-plan="{shop.pk}"]')
    app.wait_text("#quote", "100,000")
    assert app.js("return window.Telegram.WebApp.BackButton.isVisible") is True
    app.wait("#code").send_keys("SPRING10")
    app.click("#apply-code")
    quote = app.wait_text("#quote", "Spring sale")
    assert "−10,000" in quote.text and "90,000" in quote.text
    assert "Pay 90,000" in app.wait("#pay-wallet").text
    app.shot("en-checkout")

    app.click("#pay-wallet")
    result = app.wait_text("#result", "Paid 90,000 Toman for Basic")
    assert "runs until" in result.text
    order = Order.objects.get(customer=customer)
    assert (order.paid_amount, order.quantity) == (90_000, 1)
    assert app.wait_text("#balance", "410,000")
    assert ["haptic", "success"] in app.calls("haptic")
    app.shot("en-paid")

    subscription = Subscription.objects.get(order=order)
    info = provisioner.give(subscription)
    app.click("#see-services")
    card = app.wait(f'[data-service="{subscription.pk}"]')
    assert "Basic" in card.text and "days left" in card.text and "2 GB of 10 GB used" in card.text
    assert app.js("return window.Telegram.WebApp.BackButton.isVisible") is False
    assert app.wait(".copy-field input").get_attribute("value") == info.subscription_url
    app.click("[data-copy]")
    assert app.wait_text("#toast", "Copied")
    assert app.driver.execute_async_script(
        "var done = arguments[0]; navigator.clipboard.readText().then(done, function (e) { done('failed: ' + e); })"
    ) == info.subscription_url
    app.click(".qr-toggle")
    qr = app.wait("canvas.qr")
    assert qr.get_attribute("data-qr") == info.subscription_url and int(qr.get_attribute("width")) > 100
    app.shot("en-services")

    app.go("wallet")
    history = app.wait(".history")
    assert "−90,000" in history.text.replace("-", "−") and "500,000" in history.text
    app.shot("en-wallet")
    app.click("#topup")
    app.wait("#amount")
    assert app.js("return window.Telegram.WebApp.BackButton.isVisible") is True
    app.shot("en-wallet-topup")
    app.js("window.__tg.pressBack()")  # Telegram's back button: to the wallet
    app.wait("#wallet-balance")
    assert app.js("return location.hash") == "#wallet"
    for route, ready in (("referrals", "#joined"), ("settings", "#language")):
        app.go(route)
        app.wait(ready)
        app.shot("en-" + route)

    assert app.errors() == []
    assert app.fetched() <= {TELEGRAM_SDK}  # nothing fetched from anywhere but the shop and Telegram's SDK


def test_the_same_in_persian_right_to_left(open_app, shop, provisioner):
    user = telegram_user("fa")
    customer = _customer(user, "fa")
    app = open_app(user)
    app.open()
    app.wait(".plan")
    assert app.js("return document.documentElement.dir") == "rtl"
    assert app.js("return document.documentElement.lang") == "fa"
    assert "سرویس‌های من" in app.wait("#tabs").text
    assert "تومان" in app.wait(".plan").text
    app.shot("fa-plans")

    _buy_from_the_wallet(app, shop, code="SPRING10")
    result = app.wait("#result").text
    assert "پرداخت شد" in result and "90,000" in result
    # dates in Persian are Jalali: the year is 14xx
    assert "/14" in result or " 14" in result
    app.shot("fa-paid")

    subscription = Subscription.objects.get(customer=customer)
    provisioner.give(subscription)
    app.click("#see-services")
    card = app.wait(f'[data-service="{subscription.pk}"]')
    assert "روز مانده" in card.text and "کپی" in card.text
    app.click("[data-copy]")
    assert app.wait_text("#toast", "کپی شد")
    app.shot("fa-services")
    assert app.errors() == []


def test_the_english_shell_switches_to_the_customers_language(open_app, shop):
    """Telegram's app is in English but the customer chose Persian in the bot: /me decides."""
    user = telegram_user("en")
    _customer(user, "fa")
    app = open_app(user)
    app.open("wallet")
    app.wait("#wallet-balance")
    assert app.js("return document.documentElement.dir") == "rtl"
    assert "کیف پول" in app.wait("#tabs").text


def test_the_dark_theme_follows_telegrams_colours(open_app, shop, provisioner):
    user = telegram_user("en")
    customer = _customer(user, "en")
    app = open_app(user, scheme="dark", theme=DARK)
    app.open()
    app.wait(".plan")
    assert app.js("return getComputedStyle(document.body).backgroundColor") == "rgb(23, 33, 43)"
    assert app.js("return getComputedStyle(document.body).color") == "rgb(245, 245, 245)"
    assert app.js("return document.documentElement.getAttribute('data-scheme')") == "dark"
    # the safe areas: the page keeps clear of the status bar (24 px) and Telegram's header (8 px)
    assert app.js("return getComputedStyle(document.getElementById('app')).paddingTop") == "40px"
    app.shot("dark-plans")

    _buy_from_the_wallet(app, shop)
    button = app.wait("#see-services")
    assert app.js("return getComputedStyle(arguments[0]).backgroundColor", button) == "rgb(82, 136, 193)"
    app.shot("dark-paid")
    provisioner.give(Subscription.objects.get(customer=customer))
    app.click("#see-services")
    app.wait(".service")
    app.shot("dark-services")
    assert app.errors() == []


def test_settings_change_the_language_and_quiet_hours(open_app, fake_telegram):
    from notifications.models import NotificationSettings
    from vpnbot.shop.models import Customer

    user = telegram_user("en")
    customer = _customer(user, "en")
    app = open_app(user)
    app.open("settings")
    app.wait("#language")
    app.js("var s = document.getElementById('language'); s.value = 'fa'; s.dispatchEvent(new Event('change'))")
    for field, value in (("quiet-start", "23:30"), ("quiet-end", "07:00")):  # Chrome's time widget types by locale
        app.js("var i = document.getElementById(arguments[0]); i.value = arguments[1]; i.dispatchEvent(new Event('input'))",
               field, value)
    app.click("#save")
    app.wait_text("#tabs", "تنظیمات")  # the page switched to Persian without a reload
    assert app.js("return document.documentElement.dir") == "rtl"
    assert Customer.objects.get(pk=customer.pk).language == "fa"
    row = NotificationSettings.objects.get(customer=customer)
    assert (f"{row.quiet_start:%H:%M}", f"{row.quiet_end:%H:%M}") == ("23:30", "07:00")
    assert app.wait("#quiet-start").get_attribute("value") == "23:30"
    app.shot("fa-settings")
    assert app.errors() == []
