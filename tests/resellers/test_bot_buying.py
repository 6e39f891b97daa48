"""Buying accounts in the reseller menu, the hard cases: Pay pressed twice, a confirmation that
expired, a wallet short even with the credit, a frozen reseller, a price that changed, and what
people type wrong (quantities, labels)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from resellers import services
from resellers.models import Account, Batch
from tests.conftest import TelegramUser
from tests.factories import PlanFactory
from tests.resellers.botkit import answers, button, button_data, ledger_sum, make_reseller
from vpnbot.shop.models import Customer, Order, WalletTransaction
from vpnbot.transport.models import ChatState, TelegramUpdate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0


@pytest.fixture
def plan():
    return PlanFactory(name="Gold", price_amount=100_000)


def _to_confirmation(bot, fake, user, plan, quantity=3, labels="Ali"):
    bot.press(user, f"rs:p:{plan.pk}")
    bot.press(user, f"rs:q:{plan.pk}:{quantity}")
    bot.send(user, labels)
    return button(fake, user.id, "rs:pay:")


def test_pay_pressed_twice_and_the_update_resent_buys_once(bot, fake_telegram, plan):
    user = TelegramUser(7320001, language_code="en")
    reseller = make_reseller(user, balance=1_000_000, discount_bp=1000)
    pay = _to_confirmation(bot, fake_telegram, user, plan)
    update = bot.callback_update(user, pay)
    bot.post(update)
    bot.post(update)  # Telegram resends the same update
    bot.press(user, pay)  # the reseller presses again
    assert Batch.objects.count() == 1 and Account.objects.count() == 3 and Order.objects.count() == 3
    customer = Customer.objects.get(pk=reseller.customer_id)
    assert customer.balance_amount == ledger_sum(customer) == 1_000_000 - 3 * 90_000
    assert answers(fake_telegram)[-1] == "This purchase is already done."
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


def test_an_expired_confirmation_buys_nothing_and_says_so(bot, fake_telegram, plan):
    user = TelegramUser(7320002, language_code="en")
    make_reseller(user, balance=1_000_000)
    pay = _to_confirmation(bot, fake_telegram, user, plan)
    ChatState.objects.filter(user_id=user.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    bot.press(user, pay)
    assert "This confirmation has expired, nothing was bought" in fake_telegram.last_text(user.id)
    assert not Batch.objects.exists() and not Order.objects.exists()
    # a confirmation replaced by another dialog (the state is the chat's one) is stale too
    pay = _to_confirmation(bot, fake_telegram, user, plan)
    bot.press(user, "rs:find")
    bot.press(user, pay)
    assert "has expired" in fake_telegram.last_text(user.id)
    assert not Batch.objects.exists()
    # a forged key is no better
    bot.press(user, "rs:pay:0123456789ab")
    assert not Batch.objects.exists()


def test_short_beyond_the_credit_limit_buys_nothing_and_offers_a_top_up(bot, fake_telegram, plan):
    user = TelegramUser(7320003, language_code="en")
    reseller = make_reseller(user, balance=100_000, credit=50_000)
    pay = _to_confirmation(bot, fake_telegram, user, plan, quantity=2)  # 200,000 > 150,000 available
    bot.press(user, pay)
    assert "short by 50,000 Toman: nothing was bought" in fake_telegram.last_text(user.id)
    assert "topup:50000" in button_data(fake_telegram, user.id)
    assert not Batch.objects.exists() and not Order.objects.exists()
    customer = Customer.objects.get(pk=reseller.customer_id)
    assert customer.balance_amount == ledger_sum(customer) == 100_000
    assert WalletTransaction.objects.filter(customer=customer).count() == 1
    # once the credit covers it, the same Pay goes through, below zero
    services.reseller_update(reseller_id=reseller.pk, by="test", credit_limit_amount=100_000)
    bot.press(user, pay)
    customer.refresh_from_db()
    assert customer.balance_amount == ledger_sum(customer) == -100_000
    assert Account.objects.count() == 2


def test_a_frozen_reseller_sees_it_and_cannot_buy(bot, fake_telegram, plan):
    user = TelegramUser(7320004, language_code="en")
    reseller = make_reseller(user, balance=1_000_000)
    pay = _to_confirmation(bot, fake_telegram, user, plan)
    services.reseller_update(reseller_id=reseller.pk, by="test", is_frozen=True)
    bot.send(user, "/reseller")
    assert "frozen" in fake_telegram.last_text(user.id)
    bot.press(user, pay)  # a confirmation made before the freeze
    assert "frozen" in answers(fake_telegram)[-1]
    bot.press(user, "rs:buy")
    assert "frozen" in answers(fake_telegram)[-1]
    assert not Batch.objects.exists() and not Order.objects.exists()


def test_a_price_changed_before_pay_shows_the_new_one_then_buys_at_it(bot, fake_telegram, plan):
    user = TelegramUser(7320005, language_code="en")
    make_reseller(user, balance=1_000_000)
    pay = _to_confirmation(bot, fake_telegram, user, plan, quantity=2)
    plan.price_amount = 120_000
    plan.save()
    bot.press(user, pay)
    text = fake_telegram.last_text(user.id)
    assert "The price changed" in text and "2 × 120,000 Toman = 240,000 Toman" in text
    assert not Batch.objects.exists()
    bot.press(user, button(fake_telegram, user.id, "rs:pay:"))
    assert Batch.objects.get().total_amount == 240_000


def test_labels_one_per_line_and_skip(bot, fake_telegram, plan):
    user = TelegramUser(7320006, language_code="en")
    reseller = make_reseller(user, balance=1_000_000)
    bot.press(user, _to_confirmation(bot, fake_telegram, user, plan, quantity=3, labels="Sara\nReza\nMina"))
    assert list(Account.objects.filter(reseller=reseller).order_by("pk").values_list("label", flat=True)) == [
        "Sara", "Reza", "Mina"]
    bot.press(user, f"rs:q:{plan.pk}:1")
    bot.send(user, "/skip")
    bot.press(user, button(fake_telegram, user.id, "rs:pay:"))
    assert Account.objects.filter(reseller=reseller).count() == 4
    bot.send(user, "/skip")
    assert "nothing to skip" in fake_telegram.last_text(user.id)


def test_bad_labels_are_asked_again_and_buy_nothing(bot, fake_telegram, plan):
    user = TelegramUser(7320007, language_code="en")
    make_reseller(user, balance=1_000_000)
    bot.press(user, f"rs:q:{plan.pk}:3")
    bot.send(user, "x" * 65)
    assert "at most 64 characters" in fake_telegram.last_text(user.id)
    bot.send(user, "Ali\nReza")  # two labels for three accounts
    assert "one label per account (3)" in fake_telegram.last_text(user.id)
    assert not fake_telegram.buttons(user.id) or not any(d.startswith("rs:pay:") for d in button_data(fake_telegram, user.id))
    bot.send(user, "Ali\nReza\n" + "y" * 70)
    assert "at most 64 characters" in fake_telegram.last_text(user.id)
    bot.send(user, "x" * 64)  # the dialog is still waiting: 64 characters are fine
    assert "3 × 100,000 Toman = 300,000 Toman" in fake_telegram.last_text(user.id)
    assert not Batch.objects.exists()


@pytest.mark.parametrize("typed", ["0", "101", "-3", "five", "1.5"])
def test_a_typed_quantity_out_of_range_is_asked_again(bot, fake_telegram, plan, typed):
    user = TelegramUser(7320008, language_code="en")
    make_reseller(user, balance=1_000_000)
    bot.press(user, f"rs:p:{plan.pk}")
    bot.send(user, typed)
    assert "You can buy 1 to 100 accounts at once." in fake_telegram.last_text(user.id)
    bot.send(user, "۲")  # Persian digits count
    assert "2 × Gold" in fake_telegram.last_text(user.id)
    assert not Batch.objects.exists()


def test_quantity_buttons_follow_the_bulk_limit_and_forged_ones_are_refused(bot, fake_telegram, plan, settings):
    settings.RESELLER_MAX_BULK = 10
    user = TelegramUser(7320009, language_code="en")
    make_reseller(user, balance=10_000_000)
    bot.press(user, f"rs:p:{plan.pk}")
    assert [d for d in button_data(fake_telegram, user.id) if d.startswith("rs:q:")] == [
        f"rs:q:{plan.pk}:{n}" for n in (1, 5, 10)]
    for forged in (0, 11, 50):
        bot.press(user, f"rs:q:{plan.pk}:{forged}")
        assert answers(fake_telegram)[-1] == "You can buy 1 to 10 accounts at once."
    assert not Batch.objects.exists()


def test_a_plan_the_reseller_may_not_sell_is_neither_shown_nor_sold(bot, fake_telegram, plan):
    other = PlanFactory(name="Silver", price_amount=50_000)
    PlanFactory(name="Off sale", is_active=False)
    user = TelegramUser(7320010, language_code="en")
    make_reseller(user, balance=1_000_000, plan_ids=[other.pk])
    bot.press(user, "rs:buy")
    assert [d for d in button_data(fake_telegram, user.id) if d.startswith("rs:p:")] == [f"rs:p:{other.pk}"]
    bot.press(user, f"rs:p:{plan.pk}")
    assert "may not sell the Gold plan" in answers(fake_telegram)[-1]
    bot.press(user, f"rs:q:{plan.pk}:1")
    assert "may not sell the Gold plan" in answers(fake_telegram)[-1]
    assert not Batch.objects.exists()


def test_cancel_leaves_nothing_behind(bot, fake_telegram, plan):
    user = TelegramUser(7320011, language_code="en")
    make_reseller(user, balance=1_000_000)
    pay = _to_confirmation(bot, fake_telegram, user, plan)
    bot.press(user, "rs:cancel")
    assert "Purchase cancelled" in fake_telegram.last_text(user.id)
    bot.press(user, pay)
    assert "has expired" in fake_telegram.last_text(user.id)
    assert not Batch.objects.exists()


def test_switched_off_resellers_feature(bot, fake_telegram, plan, settings):
    user = TelegramUser(7320012, language_code="en")
    make_reseller(user, balance=1_000_000)
    pay = _to_confirmation(bot, fake_telegram, user, plan)
    settings.ENABLE_RESELLERS = False
    bot.send(user, "/reseller")
    assert fake_telegram.last_text(user.id) == "Resellers are not available in this shop."
    bot.press(user, pay)
    assert answers(fake_telegram)[-1] == "Resellers are not available in this shop."
    assert not Batch.objects.exists()
