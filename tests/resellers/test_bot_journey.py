"""A reseller's journey through the bot, end to end through the webhook: promoted by an operator,
topped up by card receipt, buys 5 accounts with labels, gets their configs and one file, lists
them, renews one and reads its status."""

from datetime import timedelta

import pytest

from resellers.models import Account, Batch, Reseller
from tests.conftest import TelegramUser
from tests.factories import PlanFactory
from tests.resellers.botkit import answers, button, ledger_sum
from vpnbot.shop.formatting import format_date
from vpnbot.shop.models import Customer, Order, Payment, WalletTransaction
from vpnbot.shop.services import subscription_deliver_config
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0


def test_promoted_topped_up_buys_five_gets_configs_lists_renews_and_reads_status(
        bot, fake_telegram, tg_admin, django_capture_on_commit_callbacks):
    plan = PlanFactory(name="Gold", price_amount=100_000, duration_days=30)
    PlanFactory(name="Retired", is_active=False)
    user = TelegramUser(7300001, first_name="Ali", username="rs_ali", language_code="en")
    bot.send(user, "/start")

    # an operator promotes the customer: 20% off, 100,000 of credit; the customer is told
    bot.send(tg_admin, "/add_reseller @rs_ali 20 100,000")
    assert "is a reseller now" in fake_telegram.last_text(tg_admin.id)
    reseller = Reseller.objects.get(customer__telegram_id=user.id, is_active=True)
    customer = Customer.objects.get(pk=reseller.customer_id)
    assert (reseller.discount_bp, customer.credit_limit_amount) == (2000, 100_000)
    assert "You are now a reseller" in fake_telegram.last_text(user.id)

    # the wallet is topped up by card receipt, approved by the operator
    bot.send(user, "/topup 400000")
    bot.photo(user)
    payment = Payment.objects.get(customer=customer)
    bot.press(tg_admin, f"pay:ok:{payment.pk}")
    customer.refresh_from_db()
    assert customer.balance_amount == 400_000

    bot.send(user, "/reseller")
    menu = fake_telegram.last_text(user.id)
    assert "Balance: 400,000" in menu and "Credit limit: 100,000" in menu
    assert "(balance + credit limit): 500,000" in menu and "Accounts running: 0" in menu

    # Buy → plan (at the reseller's price; only plans on sale) → 5 → one label → Pay
    bot.press(user, "rs:buy")
    plan_buttons = [b for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("rs:p:")]
    assert [(b["text"], b["callback_data"]) for b in plan_buttons] == [("Gold — 80,000 Toman each", f"rs:p:{plan.pk}")]
    bot.press(user, f"rs:p:{plan.pk}")
    assert f"rs:q:{plan.pk}:5" in [b["callback_data"] for b in fake_telegram.buttons(user.id)]
    bot.press(user, f"rs:q:{plan.pk}:5")
    assert "one label per line" in fake_telegram.last_text(user.id)
    bot.send(user, "Ali")
    confirmation = fake_telegram.last_text(user.id)
    assert "5 × 80,000 Toman = 400,000 Toman" in confirmation
    assert "Ali 1, Ali 2, Ali 3, …, Ali 5" in confirmation
    pay = button(fake_telegram, user.id, "rs:pay:")
    bot.press(user, pay)

    accounts = list(Account.objects.filter(reseller=reseller).order_by("pk"))
    assert [a.label for a in accounts] == ["Ali 1", "Ali 2", "Ali 3", "Ali 4", "Ali 5"]
    assert Batch.objects.get().quantity == 5
    orders = Order.objects.filter(customer=customer)
    assert orders.count() == 5
    for order in orders:
        assert WalletTransaction.objects.filter(source=f"order:{order.pk}").count() == 1
    assert WalletTransaction.objects.filter(customer=customer, reason="purchase").count() == 5
    customer.refresh_from_db()
    assert customer.balance_amount == ledger_sum(customer) == 0
    bought = fake_telegram.last_text(user.id)
    for account in accounts:
        assert f"#{account.pk} — {account.label}" in bought
    assert "one file with all the configs" in bought
    batch = Batch.objects.get()
    assert f"rs:file:{batch.pk}" in [b["callback_data"] for b in fake_telegram.buttons(user.id)]

    # an operator pastes the configs: one message each, then one CSV with all of them
    for number, account in enumerate(accounts, start=1):
        with django_capture_on_commit_callbacks(execute=True):
            subscription_deliver_config(subscription_id=account.first_subscription_id,
                                        config=f"vless://uuid-{number}@vpn.example.com:443#acc{number}")
    delivered = [t for t in fake_telegram.sent_texts(user.id) if "is ready until" in t]
    assert len(delivered) == 5
    assert all(any(f"“Ali {n}”" in t for t in delivered) for n in range(1, 6))
    documents = fake_telegram.calls_to("sendDocument", user.id)
    assert len(documents) == 1
    [(filename, content)] = documents[0].files.values()
    assert filename == f"accounts-{batch.pk}.csv"
    assert content.decode("utf-8-sig").count("vless://uuid-") == 5

    # My accounts lists them
    bot.press(user, "rs:accs:1")
    listing = fake_telegram.last_text(user.id)
    for account in accounts:
        assert f"#{account.pk} {account.label}" in listing
    assert {f"rs:acc:{a.pk}" for a in accounts} <= {b["callback_data"] for b in fake_telegram.buttons(user.id)}

    # renew one: on credit (the wallet is at 0, the credit limit 100,000)
    account = accounts[0]
    old_end = account.subscription.expires_at
    bot.press(user, f"rs:ren:{account.pk}")
    assert "for 80,000 Toman?" in fake_telegram.last_text(user.id)
    bot.press(user, button(fake_telegram, user.id, f"rs:rok:{account.pk}:80000:"))
    account.refresh_from_db()
    assert account.subscription.expires_at == old_end + timedelta(days=30)
    assert account.subscription.renewed_from_id == account.first_subscription_id
    customer.refresh_from_db()
    assert customer.balance_amount == ledger_sum(customer) == -80_000
    assert any("Renewed until" in t for t in fake_telegram.sent_texts(user.id)[-2:])  # then its config again

    # the account's view: status, expiry, its config
    bot.press(user, f"rs:acc:{account.pk}")
    view = fake_telegram.last_text(user.id)
    assert "Status: 🟢 active" in view
    assert f"Expires: {format_date(account.subscription.expires_at, customer)}" in view
    assert "Usage: unknown" in view and "vless://uuid-1@" in view
    assert {f"rs:ren:{account.pk}", f"rs:off:{account.pk}", "rs:accs:1"} <= {
        b["callback_data"] for b in fake_telegram.buttons(user.id)}

    # the configs file again, on demand
    bot.press(user, f"rs:file:{batch.pk}")
    assert len(fake_telegram.calls_to("sendDocument", user.id)) == 2
    assert not any("not" in a.lower() for a in answers(fake_telegram) if a)
    assert TelegramUpdate.objects.filter(status="failed").count() == 0
