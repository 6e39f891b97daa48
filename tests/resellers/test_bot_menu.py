"""The rest of the reseller menu through the webhook: the operators' commands and what they
refuse, sub-resellers, this month's figures, API tokens, and the accounts' pages and search."""

import pytest

from resellers import services
from resellers.models import Reseller, Token
from tests.conftest import TelegramUser
from tests.factories import CustomerFactory, PlanFactory
from tests.resellers.botkit import answers, button, button_data, make_reseller
from vpnbot.shop.models import Customer
from vpnbot.shop.services import wallet_apply
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0


@pytest.mark.parametrize(("args", "expected"), [
    ("", "Usage: /add_reseller"),
    ("@neda", "Usage: /add_reseller"),
    ("neda 10", "is neither a Telegram id nor an @username"),
    ("@neda 150", "A percentage is from 0 to 100."),
    ("@neda ten", "is not a percentage"),
    ("@neda 10 -5", "is not an amount"),
    ("@nobody 10", "No customer of the shop is @nobody"),
    ("7330099 10", "No customer of the shop is 7330099"),
])
def test_add_reseller_refuses_bad_input_and_changes_nothing(bot, fake_telegram, tg_admin, args, expected):
    CustomerFactory(username="neda", language="en")
    bot.send(tg_admin, f"/add_reseller {args}".strip())
    assert expected in fake_telegram.last_text(tg_admin.id)
    assert not Reseller.objects.exists()


def test_add_reseller_twice_says_so_and_persian_digits_work(bot, fake_telegram, tg_admin):
    customer = CustomerFactory(username="neda", language="en")
    bot.send(tg_admin, f"/add_reseller {customer.telegram_id} ۱۲٫۵ ۱۰۰۰")
    reseller = Reseller.objects.get(customer=customer)
    customer.refresh_from_db()
    assert (reseller.discount_bp, customer.credit_limit_amount) == (1250, 1000)
    assert "You are now a reseller" in fake_telegram.last_text(customer.telegram_id)
    bot.send(tg_admin, "/add_reseller @neda 10")
    assert "is a reseller already" in fake_telegram.last_text(tg_admin.id)
    assert Reseller.objects.get(customer=customer).discount_bp == 1250


def test_resellers_list_and_remove_with_confirmation(bot, fake_telegram, tg_admin):
    user = TelegramUser(7330001, username="rs_list", language_code="en")
    reseller = make_reseller(user, balance=50_000, credit=200_000)
    bot.send(tg_admin, "/resellers")
    listing = fake_telegram.last_text(tg_admin.id)
    assert "Resellers (1)" in listing and "balance 50,000 Toman" in listing and "0 accounts running" in listing
    bot.send(tg_admin, "/remove_reseller @nobody")
    assert "No customer of the shop is @nobody" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "/remove_reseller @rs_list")
    assert button_data(fake_telegram, tg_admin.id) == [f"rs:rm:{reseller.pk}", "rs:rmno"]
    bot.press(tg_admin, "rs:rmno")
    assert Reseller.objects.get(pk=reseller.pk).is_active
    bot.press(tg_admin, f"rs:rm:{reseller.pk}")
    assert not Reseller.objects.get(pk=reseller.pk).is_active
    assert "no longer a reseller" in fake_telegram.last_text(tg_admin.id)
    assert "no longer a reseller" in fake_telegram.last_text(user.id)
    bot.send(tg_admin, "/remove_reseller @rs_list")
    assert "is not a reseller" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "/resellers")
    assert "There are no resellers yet" in fake_telegram.last_text(tg_admin.id)


def test_sub_reseller_invite_list_and_bad_markup(bot, fake_telegram):
    plan = PlanFactory(price_amount=100_000)
    user = TelegramUser(7330002, username="rs_parent", language_code="en")
    parent = make_reseller(user, balance=1_000_000, discount_bp=2000)
    invited = CustomerFactory(username="rs_child", language="en")
    for bad in ["/sub_reseller @rs_child", "/sub_reseller @rs_child lots", "/sub_reseller @rs_child 101"]:
        bot.send(user, bad)
        assert "/sub_reseller <telegram id or @username> <markup %>" in fake_telegram.last_text(user.id)
    assert Reseller.objects.count() == 1
    bot.send(user, "/sub_reseller @rs_child 12.5")
    sub = Reseller.objects.get(customer=invited)
    assert (sub.parent_id, sub.markup_bp) == (parent.pk, 1250)
    assert "is now your sub-reseller" in fake_telegram.last_text(user.id)
    assert "made you a reseller" in fake_telegram.last_text(invited.telegram_id)
    bot.send(user, "/sub_reseller @rs_child 10")
    assert "is a reseller already" in fake_telegram.last_text(user.id)
    wallet_apply(customer_id=invited.pk, amount=500_000, reason="adjustment", source="seed-sub")
    services.reseller_buy(reseller_id=sub.pk, plan_id=plan.pk, quantity=2, idempotency_key="sub-1")
    bot.press(user, "rs:subs")
    text = fake_telegram.last_text(user.id)
    assert "@rs_child — this month: 2 accounts, 180,000 Toman" in text


def test_this_month(bot, fake_telegram):
    plan = PlanFactory(price_amount=100_000)
    user = TelegramUser(7330003, language_code="en")
    reseller = make_reseller(user, balance=1_000_000)
    purchase = services.reseller_buy(reseller_id=reseller.pk, plan_id=plan.pk, quantity=3, idempotency_key="m-1")
    services.reseller_renew(reseller_id=reseller.pk, account_id=purchase.accounts[0].pk, idempotency_key="m-r")
    bot.press(user, "rs:month")
    text = fake_telegram.last_text(user.id)
    assert "Accounts bought: 3" in text and "Renewals: 1" in text and "Spent: 400,000 Toman" in text
    assert "Commission earned: 0 Toman" in text


def test_api_tokens_made_shown_once_and_revoked(bot, fake_telegram):
    user = TelegramUser(7330004, language_code="en")
    other = make_reseller(TelegramUser(7330005, language_code="en"))
    theirs, _ = services.token_create(reseller_id=other.pk, name="theirs")
    reseller = make_reseller(user)
    bot.press(user, "rs:api")
    text = fake_telegram.last_text(user.id)
    assert "/api/v1/reseller/" in text and "Authorization: Token" in text and "no API token yet" in text
    bot.press(user, "rs:tnew")
    assert not Token.objects.filter(reseller=reseller).exists()  # asked first
    bot.press(user, "rs:tok")
    token = Token.objects.get(reseller=reseller)
    shown = fake_telegram.last_text(user.id)
    key = shown.split("<code>")[1].split("</code>")[0]
    assert services.token_authenticate(key) == token and "not shown again" in shown
    bot.press(user, "rs:api")
    listing = fake_telegram.last_text(user.id)
    assert token.prefix in listing and key not in listing and "theirs" not in listing
    bot.press(user, f"rs:trev:{theirs.pk}")
    assert answers(fake_telegram)[-1] == "Not found."
    bot.press(user, button(fake_telegram, user.id, "rs:trev:"))
    assert Token.objects.get(pk=token.pk).revoked_at is not None
    assert Token.objects.get(pk=theirs.pk).revoked_at is None
    assert services.token_authenticate(key) is None


def test_accounts_pages_and_search(bot, fake_telegram):
    plan = PlanFactory(name="Gold", price_amount=10_000)
    user = TelegramUser(7330006, language_code="en")
    reseller = make_reseller(user, balance=1_000_000)
    services.reseller_buy(reseller_id=reseller.pk, plan_id=plan.pk, quantity=10, labels="Ali", idempotency_key="p-1")
    services.reseller_buy(reseller_id=reseller.pk, plan_id=plan.pk, quantity=10, labels="Reza", idempotency_key="p-2")
    bot.press(user, "rs:accs:1")
    assert "page 1 of 3" in fake_telegram.last_text(user.id)
    data = button_data(fake_telegram, user.id)
    assert len([d for d in data if d.startswith("rs:acc:")]) == 8 and "rs:accs:2" in data and "rs:accs:0" not in data
    bot.press(user, "rs:accs:3")
    data = button_data(fake_telegram, user.id)
    assert len([d for d in data if d.startswith("rs:acc:")]) == 4 and "rs:accs:2" in data and "rs:accs:4" not in data
    bot.press(user, "rs:find")
    bot.send(user, "ali 1")  # Ali 1 and Ali 10
    text = fake_telegram.last_text(user.id)
    assert "Ali 1 " in text and "Ali 10" in text and "Reza" not in text and "page 1 of 1" in text
    bot.press(user, "rs:find")
    bot.send(user, "Reza")
    assert "page 1 of 2" in fake_telegram.last_text(user.id)
    bot.press(user, "rs:fp:2")
    text = fake_telegram.last_text(user.id)
    assert "page 2 of 2" in text and "Ali" not in text
    account = reseller.accounts.order_by("pk").first()
    bot.press(user, "rs:find")
    bot.send(user, str(account.pk))
    assert f"#{account.pk} Ali 1" in fake_telegram.last_text(user.id)
    bot.send(user, "/cancel")  # the search's state goes; its pages say so
    bot.press(user, "rs:fp:2")
    assert "This search has expired" in fake_telegram.last_text(user.id)
    assert Customer.objects.get(pk=reseller.customer_id).balance_amount == 800_000
    assert TelegramUpdate.objects.filter(status="failed").count() == 0
