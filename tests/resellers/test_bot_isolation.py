"""Isolation in the reseller menu: every id in a button goes through the presser's own reseller,
so reseller A cannot see or touch reseller B's accounts, purchases or tokens, and anyone who is
not an active reseller (never was, or demoted) is refused and changes nothing."""

import pytest

from resellers import services
from resellers.models import Account, Batch, Token
from tests.conftest import TelegramUser
from tests.factories import CustomerFactory, PlanFactory
from tests.resellers.botkit import answers, make_reseller
from vpnbot.shop import provisioning
from vpnbot.shop.models import Order, WalletTransaction
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db

NOT_A_RESELLER = "You are not a reseller of this shop"


@pytest.fixture
def two_resellers(django_capture_on_commit_callbacks):
    plan = PlanFactory(name="Gold", price_amount=100_000)
    user_a = TelegramUser(7310001, username="rs_a", language_code="en")
    user_b = TelegramUser(7310002, username="rs_b", language_code="en")
    a = make_reseller(user_a, balance=1_000_000)
    b = make_reseller(user_b, balance=1_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        bought = services.reseller_buy(reseller_id=b.pk, plan_id=plan.pk, quantity=2, labels="Bob", idempotency_key="b1")
    token, _key = services.token_create(reseller_id=b.pk, name="site")
    return user_a, user_b, a, b, bought, token


def _snapshot(b_account):
    b_account.refresh_from_db()
    return (b_account.subscription_id, b_account.subscription.expires_at, b_account.disabled_at,
            WalletTransaction.objects.count(), Order.objects.count(), Batch.objects.count())


def test_a_reseller_pressing_another_resellers_ids_gets_not_found_and_nothing_changes(bot, fake_telegram, two_resellers):
    user_a, _user_b, _a, _b, bought, token = two_resellers
    b_account = bought.accounts[0]
    before = _snapshot(b_account)
    presses = [f"rs:acc:{b_account.pk}", f"rs:ren:{b_account.pk}", f"rs:rok:{b_account.pk}:100000:0123456789ab",
               f"rs:off:{b_account.pk}", f"rs:on:{b_account.pk}", f"rs:file:{bought.batch.pk}", f"rs:trev:{token.pk}"]
    for data in presses:
        bot.press(user_a, data)
    said = answers(fake_telegram)
    assert said == ["There is no such account."] * 5 + ["Not found."] * 2
    assert _snapshot(b_account) == before
    assert not fake_telegram.calls_to("sendDocument")
    assert Token.objects.get(pk=token.pk).revoked_at is None
    # nothing of B's reached A's chat
    assert not any("Bob" in t for t in fake_telegram.sent_texts(user_a.id))
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


class SwitchingProvisioner(provisioning.ManualProvisioner):
    """The manual provisioner, but accounts can be switched off and on (as on a panel)."""

    def __init__(self):
        self.switched = []

    def set_enabled(self, subscription, enabled: bool) -> None:
        self.switched.append((subscription.pk, enabled))


@pytest.fixture
def switching():
    before = provisioning._registered
    provisioner = SwitchingProvisioner()
    provisioning.register_provisioner(provisioner)
    yield provisioner
    provisioning.register_provisioner(before)


def test_own_ids_still_work_for_the_owner(bot, fake_telegram, two_resellers, switching):
    """The same presses by B do what they say (so the refusals above are about ownership)."""
    _user_a, user_b, _a, _b, bought, token = two_resellers
    b_account = bought.accounts[0]
    bot.press(user_b, f"rs:acc:{b_account.pk}")
    assert "Bob 1" in fake_telegram.last_text(user_b.id)
    bot.press(user_b, f"rs:off:{b_account.pk}")
    assert Account.objects.get(pk=b_account.pk).disabled_at is not None
    assert switching.switched == [(b_account.subscription_id, False)]
    assert "Switched off" in fake_telegram.last_text(user_b.id)
    assert f"rs:on:{b_account.pk}" in [b["callback_data"] for b in fake_telegram.buttons(user_b.id)]
    bot.press(user_b, f"rs:on:{b_account.pk}")
    assert Account.objects.get(pk=b_account.pk).disabled_at is None
    assert switching.switched[-1] == (b_account.subscription_id, True)
    bot.press(user_b, f"rs:file:{bought.batch.pk}")
    assert len(fake_telegram.calls_to("sendDocument", user_b.id)) == 1
    bot.press(user_b, f"rs:trev:{token.pk}")
    assert Token.objects.get(pk=token.pk).revoked_at is not None


def test_a_customer_who_is_not_a_reseller_is_refused_everywhere(bot, fake_telegram, two_resellers):
    _user_a, _user_b, _a, _b, bought, token = two_resellers
    stranger = TelegramUser(7310003, username="stranger", language_code="en")
    CustomerFactory(telegram_id=stranger.id, language="en")
    before = _snapshot(bought.accounts[0])
    bot.send(stranger, "/reseller")
    assert NOT_A_RESELLER in fake_telegram.last_text(stranger.id)
    assert not fake_telegram.buttons(stranger.id)
    bot.send(stranger, "/sub_reseller @rs_a 10")
    assert NOT_A_RESELLER in fake_telegram.last_text(stranger.id)
    for data in ["rs:menu", "rs:buy", "rs:accs:1", f"rs:acc:{bought.accounts[0].pk}", f"rs:off:{bought.accounts[0].pk}",
                 "rs:pay:0123456789ab", f"rs:file:{bought.batch.pk}", "rs:tok", f"rs:trev:{token.pk}", "rs:month"]:
        bot.press(stranger, data)
    assert all(NOT_A_RESELLER in a for a in answers(fake_telegram))
    assert len(answers(fake_telegram)) == 10
    assert _snapshot(bought.accounts[0]) == before
    assert not Token.objects.filter(reseller__customer__telegram_id=stranger.id).exists()
    assert Token.objects.get(pk=token.pk).revoked_at is None


def test_a_demoted_reseller_pressing_old_buttons_is_refused(bot, fake_telegram, two_resellers):
    _user_a, user_b, _a, b, bought, _token = two_resellers
    bot.send(user_b, "/reseller")
    menu_buttons = [x["callback_data"] for x in fake_telegram.buttons(user_b.id)]
    services.reseller_demote(reseller_id=b.pk, by="test")
    before = _snapshot(bought.accounts[0])
    for data in [*menu_buttons, f"rs:ren:{bought.accounts[0].pk}", f"rs:off:{bought.accounts[0].pk}"]:
        bot.press(user_b, data)
    assert answers(fake_telegram) and all(NOT_A_RESELLER in a for a in answers(fake_telegram))
    assert _snapshot(bought.accounts[0]) == before
    bot.send(user_b, "/reseller")
    assert NOT_A_RESELLER in fake_telegram.last_text(user_b.id)


def test_a_non_admin_cannot_use_the_operators_commands(bot, fake_telegram, two_resellers):
    user_a, _user_b, a, b, _bought, _token = two_resellers
    bot.send(user_a, "/remove_reseller @rs_b")
    assert "for the shop's admins" in fake_telegram.last_text(user_a.id)
    bot.send(user_a, "/add_reseller @stranger 50")
    assert "for the shop's admins" in fake_telegram.last_text(user_a.id)
    bot.press(user_a, f"rs:rm:{b.pk}")
    assert "admins" in answers(fake_telegram)[-1]
    b.refresh_from_db()
    assert b.is_active


class RefusingProvisioner(provisioning.ManualProvisioner):
    """A provisioner that cannot switch now (a panel that does not answer)."""

    def set_enabled(self, subscription, enabled: bool) -> None:
        raise provisioning.ProvisioningUnavailable("The server could not be reached: please try again in a few minutes.")


def test_switching_an_account_the_provisioner_cannot_switch_shows_its_message(bot, fake_telegram, two_resellers):
    """The provisioner refuses: its message is shown as is and the account stays on."""
    _user_a, user_b, _a, _b, bought, _token = two_resellers
    before = provisioning._registered
    provisioning.register_provisioner(RefusingProvisioner())
    try:
        bot.press(user_b, f"rs:off:{bought.accounts[0].pk}")
    finally:
        provisioning.register_provisioner(before)
    assert answers(fake_telegram)[-1] == "The server could not be reached: please try again in a few minutes."
    assert Account.objects.get(pk=bought.accounts[0].pk).disabled_at is None


def test_switching_off_an_account_delivered_by_hand_asks_the_admins(bot, fake_telegram, two_resellers, settings):
    """A plan on no panel: the admins are asked to switch it off by hand, and it shows as switched off."""
    _user_a, user_b, _a, _b, bought, _token = two_resellers
    account = bought.accounts[0]
    bot.press(user_b, f"rs:off:{account.pk}")
    assert Account.objects.get(pk=account.pk).disabled_at is not None
    asked = [t for chat in settings.ADMIN_TELEGRAM_IDS for t in fake_telegram.sent_texts(chat)]
    # "switch OFF … “Bob 1” … by hand", once to each admin
    assert len([t for t in asked if account.label in t]) == len(settings.ADMIN_TELEGRAM_IDS), asked
