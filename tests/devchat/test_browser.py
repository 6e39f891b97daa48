"""The local chat page in a real browser: headless Chromium (Debian's chromium + chromium-driver,
which .ci/run installs) on the live server, logged in as staff. A new customer buys a plan from
/start to the config, paying by a card receipt that an admin approves from the admin side of
the page, and the operator pastes the config in the admin, as a shop without a panel does.

Everything goes through the real path: the page posts updates to /telegram/webhook/, the inbox
and the handlers process them, and the bot's Bot API calls land in the stand-in served by the
same live server. Screenshots land in var/artifacts/devchat/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.chromium import headless_chromium, log_in
from tests.devchat.conftest import picture
from tests.factories import PlanFactory
from vpnbot.shop.models import Customer, Payment, Subscription
from vpnbot.transport.application import reset_application

pytestmark = pytest.mark.django_db(transaction=True)  # the live server reads what the test writes

ARTIFACTS = Path(django_settings.BASE_DIR) / "var" / "artifacts" / "devchat"
CONFIG = "vless://5f1c2e7a@de1.example.com:443?security=reality#Sara"


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium(window="1280,900")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, live_server, local_chat, settings):
    """The chat page open for a staff user, the bot talking to the live server's stand-in."""
    settings.TELEGRAM_API_URL = settings.LOCAL_CHAT_URL = f"{live_server.url}/dev/telegram"
    settings.DEFAULT_CASHBACK_PERCENT = 0
    settings.LANGUAGE_CODE = "en"  # the admins read English
    reset_application()
    log_in(browser, live_server.url, User.objects.create_superuser("owner-in-chat", password="pw"))
    chat = Page(browser, live_server.url)
    chat.open()
    yield chat
    browser.delete_all_cookies()
    browser.get("about:blank")
    reset_application()


class Page:
    def __init__(self, driver, base: str):
        self.driver = driver
        self.base = base

    def open(self):
        self.driver.get(f"{self.base}/dev/chat/")
        self.until(lambda d: d.find_elements(By.ID, "new-name"), "the page")

    def until(self, condition, what: str, timeout: float = 20):
        try:
            return WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)
        except TimeoutException:
            self.shot("failed")
            text = self.driver.execute_script("return document.body.innerText")
            raise AssertionError(f"{what} did not come (failed.png); the page says:\n{text}") from None

    def shot(self, name: str):
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    def bubbles(self) -> list[str]:
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll('.bubble')).map(b => b.innerText)")

    def wait_bubble(self, text: str, timeout: float = 20) -> str:
        def found(_driver):
            return next((b for b in reversed(self.bubbles()) if text in b), None)

        return self.until(found, f"a message with {text!r}", timeout)

    def send(self, text: str):
        box = self.driver.find_element(By.ID, "text")
        box.send_keys(text)
        self.driver.find_element(By.ID, "send").click()

    def press(self, label: str):
        """The newest inline button whose label has `label`."""
        def button(driver):
            buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, ".bubble .inline-button") if label in b.text]
            return buttons[-1] if buttons else None

        self.until(button, f"a button {label!r}").click()

    def person(self, list_id: str, name: str):
        def item(driver):
            items = [b for b in driver.find_elements(By.CSS_SELECTOR, f"#{list_id} .person") if name in b.text]
            return items[0] if items else None

        self.until(item, f"{name!r} in #{list_id}").click()
        self.until(lambda d: name in d.find_element(By.ID, "chat-head").text, f"the chat of {name!r}")

    def toast(self) -> str:
        return self.until(lambda d: d.find_element(By.ID, "toast").is_displayed() and d.find_element(By.ID, "toast").text
                          or d.find_element(By.ID, "alert").is_displayed() and d.find_element(By.ID, "alert-text").text,
                          "an answer to the press")


def test_a_new_customer_buys_a_plan_from_start_to_config(page, tmp_path):
    PlanFactory(name="Silver", price_amount=149_000, duration_days=30)
    # the admin has talked to the bot before (in English)
    page.person("admins", "9001")
    page.send("/start")
    page.wait_bubble("/start")

    # a new customer, in English
    page.driver.find_element(By.ID, "new-name").send_keys("Sara")
    page.driver.find_element(By.CSS_SELECTOR, "#new-language option[value=en]").click()
    page.driver.find_element(By.ID, "new-submit").click()
    page.until(lambda d: "Sara" in d.find_element(By.ID, "chat-head").text, "Sara's chat")
    page.send("/start")
    page.wait_bubble("/start")
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#keyboard button"), "the main menu")
    sara = Customer.objects.get(first_name="Sara")
    assert sara.effective_language == "en"
    page.shot("1-start")

    # /buy: the plan, the periods and the confirmation edit one message in place
    page.send("/buy")
    page.press("Silver")
    page.wait_bubble("How many periods?")
    page.press("1 × 30 days")
    page.wait_bubble("Wallet balance")
    page.shot("2-confirmation")
    page.press("Pay 149,000")
    page.wait_bubble("Your wallet is short by 149,000")
    edited = [b for b in page.bubbles() if "short by" in b]
    assert len(edited) == 1 and "edited" in edited[0], "one message, edited in place"

    # the wallet is short: a top-up by card receipt, the photo sent from the page
    page.press("Top up 149,000")
    page.wait_bubble("send a photo of the receipt")
    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(picture(color=(20, 120, 200), size=(320, 480)))
    page.driver.find_element(By.ID, "photo").send_keys(str(receipt))
    page.wait_bubble("is being reviewed")
    payment = Payment.objects.get(customer=sara)
    page.shot("3-receipt-sent")

    # the admin's side: the receipt with its buttons; Approve
    page.person("admins", "9001")
    page.wait_bubble(f"Top-up #{payment.pk}")
    assert page.driver.find_elements(By.CSS_SELECTOR, ".bubble img"), "the receipt's photo"
    page.shot("4-admin-review")
    page.press("Approve")
    answer = page.toast()
    if "Approve it anyway" in " ".join(page.bubbles()):  # the risk checks hold a first receipt
        page.press("Yes, approve it")
        answer = page.toast()
    assert "credited" in answer or "Approved" in answer
    payment.refresh_from_db()
    assert payment.status == Payment.Status.APPROVED and payment.reviewer == "tg:9001"

    # back to Sara: the money came, she buys
    page.person("recent", "Sara")
    page.wait_bubble("149,000")
    page.send("/buy")
    page.press("Silver")
    page.press("1 × 30 days")
    page.press("Pay 149,000")
    assert "Silver" in page.wait_bubble("✅ Paid 149,000")
    subscription = Subscription.objects.get(customer=sara)
    page.shot("5-paid")

    # no panel: the admins are asked for a config, and the operator pastes one in the admin
    page.person("admins", "9001")
    page.wait_bubble(f"Order #{subscription.order_id} needs a VPN config")
    page.driver.get(f"{page.base}/admin/shop/subscription/{subscription.pk}/change/")
    page.until(lambda d: d.find_elements(By.NAME, "config"), "the subscription's form")
    page.driver.find_element(By.NAME, "config").send_keys(CONFIG)
    page.driver.find_element(By.NAME, "_save").click()
    page.until(lambda d: "sent to the customer" in d.find_element(By.TAG_NAME, "body").text, "the admin's confirmation")

    page.open()
    page.person("recent", "Sara")
    delivered = page.wait_bubble("Your config")
    assert CONFIG in delivered and "Silver" in delivered
    page.shot("6-config")
    assert not page.driver.find_elements(By.CSS_SELECTOR, ".note.error"), "the Bot API refused nothing"
