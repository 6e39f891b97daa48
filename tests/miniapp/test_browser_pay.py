"""Paying and managing services in the Mini App in a real browser (the driver and the stand-in
Telegram.WebApp of test_browser.py): a short wallet paying an order with Telegram Stars through
openInvoice, a top-up at Zarinpal opened with openLink, a traffic pack and a new link from
My services. The payments are completed the way Telegram and the bank do it (the webhook's
pre-checkout and successful_payment; the bank's page and its return to the callback) while the
page polls /app/api/payments/<id>.

Screenshots in var/artifacts/miniapp/ (pay-*.png)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db.models import Sum
from selenium.webdriver.common.by import By

from payments.models import Payment
from tests.conftest import TelegramUser
from tests.fakes.zarinpal import FakeZarinpal
from tests.miniapp.conftest import telegram_user
from tests.miniapp.test_browser import _customer, browser, open_app, shop  # noqa: F401  (fixtures)
from tests.payments.test_stars import pay_with_stars
from vpnbot.shop import services
from vpnbot.shop.models import Order, Subscription, TrafficPack, TrafficPurchase, WalletTransaction

pytestmark = pytest.mark.django_db(transaction=True)

MERCHANT = "1344b5d4-0048-11e8-94db-005056a205be"


def ledger(customer) -> int:
    return WalletTransaction.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] or 0


def click_button(app, text: str):
    """The page's button that reads `text` (buttons without an id: a card's actions)."""
    xpath = f'//button[contains(normalize-space(.), "{text}")]'
    app._until(lambda d: d.find_elements(By.XPATH, xpath), f"a button {text!r}", 15)
    button = app.driver.find_element(By.XPATH, xpath)
    app.js("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()


@pytest.fixture
def stars(settings):
    settings.STARS_ENABLED = True
    settings.STARS_PER_UNIT = Decimal("1")  # 1 Star per 1,000


@pytest.fixture
def zarinpal(settings, live_server):
    fake = FakeZarinpal(merchant_id=MERCHANT)
    settings.ZARINPAL_API_URL = fake.url
    settings.ZARINPAL_MERCHANT_ID = MERCHANT
    settings.ZARINPAL_SANDBOX = False
    settings.ZARINPAL_RIALS_PER_UNIT = 10
    settings.PUBLIC_BASE_URL = live_server.url  # the bank sends the browser back to the shop
    settings.PAYMENTS_TIMEOUT = 3.0
    settings.PAYMENTS_MAX_RETRIES = 2
    yield fake
    fake.stop()


def test_a_short_wallet_pays_an_order_with_stars_in_telegrams_sheet(open_app, shop, stars, bot, fake_telegram):  # noqa: F811
    user = telegram_user("en")
    customer = _customer(user, "en", balance=30_000)
    app = open_app(user)
    app.open()
    app.click(f'[data-plan="{shop.pk}"]')
    app.wait_text("#quote", "100,000")
    app.click("#pay-wallet")
    assert "70,000" in app.wait_text("#pay", "short").text  # what is missing, and the methods that pay the total
    stars_button = app.wait('#pay [data-method="stars"]')
    assert "Telegram Stars" in stars_button.text
    app.shot("pay-stars-checkout")

    app.click('#pay [data-method="stars"]')
    app.wait_text("#result", "Waiting for the payment")
    invoice = fake_telegram.last_invoice_link()
    assert app.calls("openInvoice") == [["openInvoice", invoice["link"]]]
    assert (invoice["currency"], invoice["total_amount"]) == ("XTR", 100)  # the order's total, not the missing part
    payment = Payment.objects.get(customer=customer)
    assert (payment.purpose, payment.status) == ("order", "pending")
    assert not Order.objects.filter(customer=customer).exists()
    app.shot("pay-stars-waiting")

    # the customer pays in Telegram's sheet: Telegram asks the bot, takes the Stars, tells the bot
    pay_with_stars(bot, TelegramUser(user["id"], language_code="en"), invoice)
    app.js("window.__tg.invoiceCallback('paid')")  # then tells the page
    result = app.wait_text("#result", "Paid 100,000 Toman for Basic", timeout=20)  # the order placed, as from the wallet
    assert "runs until" in result.text
    app.wait("#result a[href='#services']")
    assert app.wait_text("#balance", "30,000")  # credited 100,000, paid the order with it
    assert ["haptic", "success"] in app.calls("haptic")
    assert not app.driver.find_elements(By.CSS_SELECTOR, "#pay button")  # nothing left to pay
    app.shot("pay-stars-paid")

    order = Order.objects.get(customer=customer)  # placed once
    payment.refresh_from_db()
    assert (payment.status, payment.order_id) == ("paid", order.pk)
    assert (order.status, order.paid_amount) == ("paid", 100_000)
    assert Subscription.objects.filter(customer=customer).count() == 1
    assert ledger(customer) == 30_000 == customer.__class__.objects.get(pk=customer.pk).balance_amount
    assert app.errors() == []


def test_a_top_up_at_zarinpal_opens_the_bank_and_shows_the_credited_balance(open_app, shop, zarinpal, client):  # noqa: F811
    user = telegram_user("en")
    customer = _customer(user, "en", balance=10_000)
    app = open_app(user)
    app.open("wallet/topup")
    app.wait("#amount").send_keys("50000")
    method = app.wait('input[name="method"][value="zarinpal"]')
    if not method.is_selected():
        app.js("arguments[0].click()", method)
    app.shot("pay-zarinpal-topup")
    app.click("#topup-go")
    app.wait_text("#result", "Waiting for the payment")

    (authority,) = zarinpal.sessions
    payment = Payment.objects.get(customer=customer)
    assert payment.pay_url == f"{zarinpal.url}/pg/StartPay/{authority}"
    assert app.calls("openLink") == [["openLink", payment.pay_url]]
    assert zarinpal.calls_to("request")[0].body["amount"] == 500_000  # Rials
    app.shot("pay-zarinpal-waiting")

    # at the bank, then the bank sends the customer's browser back to the shop's callback
    zarinpal.pay(authority)
    back = urlsplit(zarinpal.return_url(authority))
    assert client.get(back.path, dict(parse_qsl(back.query))).status_code == 200

    app.wait_text("#result", "Payment received", timeout=20)
    assert app.wait_text("#balance", "60,000")
    app.shot("pay-zarinpal-paid")
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.purpose == "topup"
    assert ledger(customer) == 60_000
    assert WalletTransaction.objects.filter(source=f"pay:zarinpal:{payment.pk}").count() == 1
    app.go("wallet")
    assert app.wait_text("#wallet-balance", "60,000")
    assert app.errors() == []


def test_my_services_buys_a_traffic_pack_and_makes_a_new_link(open_app, shop, provisioner, fake_telegram):  # noqa: F811
    user = telegram_user("en")
    customer = _customer(user, "en", balance=200_000)
    sub = services.order_checkout(customer_id=customer.pk, plan_id=shop.pk, quantity=1,
                                  idempotency_key="browser-traffic").order.subscription
    first = provisioner.give(sub).subscription_url
    pack = TrafficPack.objects.create(name="20 GB extra", traffic_gb=20, price_amount=30_000)

    app = open_app(user)
    app.open("services")
    card = app.wait(f'[data-service="{sub.pk}"]')
    assert "2 GB of 10 GB used" in card.text
    assert app.wait(".copy-field input").get_attribute("value") == first
    app.click(f'a[href="#services/{sub.pk}/traffic"]')
    app.wait_text("#view", "20 GB extra")
    assert "30,000" in app.wait("#view .list").text
    app.shot("pay-traffic-packs")
    click_button(app, "Buy")
    app.wait_text("#result", "20 GB added")
    assert app.wait_text("#balance", "70,000")  # 200,000 − 100,000 (the plan) − 30,000
    app.shot("pay-traffic-bought")
    purchase = TrafficPurchase.objects.get()
    assert (purchase.subscription_id, purchase.pack_id, purchase.amount) == (sub.pk, pack.pk, 30_000)

    app.js("window.__tg.pressBack()")
    card = app.wait(f'[data-service="{sub.pk}"]')
    app.wait_text(f'[data-service="{sub.pk}"]', "of 30 GB used")  # the panel's new limit

    click_button(app, "New link")
    assert app.calls("showConfirm") and "old link will stop working" in app.calls("showConfirm")[-1][1]
    app.wait_text(f'[data-service="{sub.pk}"] .result', "new link is shown")
    shown = app.wait(f'[data-service="{sub.pk}"] .copy-field input').get_attribute("value")
    assert shown != first and shown == provisioner.accounts[sub.pk].subscription_url
    assert provisioner.new_links == 1
    app.shot("pay-new-link")
    assert app.errors() == []
