"""The panels' admin commands through the webhook: /retry_provisioning (the command the failure
alert names) and /panels; bad input changes nothing, non-admins are refused."""

import pytest

from panels import services
from panels.models import PanelAccount
from tests.conftest import TelegramUser
from tests.panels.test_lifecycle import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_account(make_panel, marzban, plan, rich_customer, fake_telegram, django_capture_on_commit_callbacks,
                   settings):
    settings.PANEL_PROVISION_MAX_RETRIES = 0
    make_panel(marzban, plans=[plan])
    marzban.down = True
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    assert account.status == "failed"
    marzban.down = False
    fake_telegram.reset()
    return account


def test_the_failure_alert_names_the_command_that_retries_it(bot, fake_telegram, tg_admin, failed_account,
                                                             marzban, rich_customer, settings):
    settings.PANEL_PROVISION_MAX_RETRIES = 0
    subscription_id = failed_account.subscription_id
    bot.send(tg_admin, f"/retry_provisioning {subscription_id}")
    reply = fake_telegram.sent_texts(tg_admin.id)[0]
    assert f"Subscription #{subscription_id}" in reply and failed_account.name in reply
    failed_account.refresh_from_db()
    assert failed_account.status == "active" and marzban.user(failed_account.name)
    assert any(failed_account.subscription_url in t for t in fake_telegram.sent_texts(rich_customer.telegram_id))


def test_retry_in_persian_digits(bot, fake_telegram, failed_account):
    admin = TelegramUser(9002, first_name="Admin2", username="boss2", language_code="fa")
    digits = str(failed_account.subscription_id).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    bot.send(admin, f"/retry_provisioning {digits}")
    assert "اشتراک" in fake_telegram.sent_texts(admin.id)[0]
    failed_account.refresh_from_db()
    assert failed_account.status == "active"


@pytest.mark.parametrize(("text", "answer"), [
    ("/retry_provisioning", "Usage: /retry_provisioning"),
    ("/retry_provisioning abc", "is not a subscription number"),
    ("/retry_provisioning -5", "is not a subscription number"),
    ("/retry_provisioning 1.5", "is not a subscription number"),
    ("/retry_provisioning ²", "is not a subscription number"),
    ("/retry_provisioning " + "9" * 30, "is not a subscription number"),
    ("/retry_provisioning 1 2", "Usage: /retry_provisioning"),
    ("/retry_provisioning 999999", "There is no subscription #999999"),
])
def test_bad_input_gets_a_clear_answer_and_changes_nothing(bot, fake_telegram, tg_admin, failed_account, text,
                                                           answer):
    bot.send(tg_admin, text)
    assert answer in fake_telegram.sent_texts(tg_admin.id)[0]
    failed_account.refresh_from_db()
    assert failed_account.status == "failed" and failed_account.attempts == 1


def test_a_subscription_without_a_panel_account_says_so(bot, fake_telegram, tg_admin, rich_customer):
    from tests.factories import SubscriptionFactory

    subscription = SubscriptionFactory(customer=rich_customer)
    bot.send(tg_admin, f"/retry_provisioning {subscription.pk}")
    assert f"Subscription #{subscription.pk} has no account on a panel." in fake_telegram.sent_texts(tg_admin.id)[0]


@pytest.mark.parametrize("command", ["/retry_provisioning 1", "/panels"])
def test_non_admins_are_refused_and_nothing_runs(bot, fake_telegram, failed_account, command):
    user = TelegramUser(5550123, language_code="en")
    bot.send(user, command.replace(" 1", f" {failed_account.subscription_id}"))
    assert "for the shop's admins" in fake_telegram.last_text(user.id)
    failed_account.refresh_from_db()
    assert failed_account.status == "failed" and failed_account.attempts == 1


def test_panels_lists_each_panel(bot, fake_telegram, tg_admin, make_panel, marzban, xui, plan, rich_customer,
                                 django_capture_on_commit_callbacks):
    bot.send(tg_admin, "/panels")
    assert "There are no panels yet" in fake_telegram.last_text(tg_admin.id)
    mz = make_panel(marzban, name="mz", plans=[plan], capacity=50)
    make_panel(xui, name="ui<b>")
    services.panel_create(name="by-hand", kind="manual")
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    services.panel_test(panel_id=mz.pk)
    services.panel_sync(panel_id=mz.pk)
    xui.down = True
    ui = services.panel_sync(panel_id=type(mz).objects.get(name="ui<b>").pk)
    assert ui.error
    bot.send(tg_admin, "/panels")
    text = fake_telegram.last_text(tg_admin.id)
    assert "• mz (Marzban) — active" in text
    assert "accounts: 1 / 50 · version: 0.8.4" in text
    assert "• ui<b> (3x-ui) — active" in text and "accounts: 0 / ∞" in text and "last error:" in text
    assert "• by-hand (manual (an operator delivers the config))" in text
    assert "last sync: never" in text



def test_the_alerts_retry_button_retries(bot, fake_telegram, tg_admin, make_panel, marzban, plan, rich_customer,
                                         django_capture_on_commit_callbacks, settings):
    settings.PANEL_PROVISION_MAX_RETRIES = 0
    make_panel(marzban, plans=[plan])
    marzban.down = True
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    assert account.status == "failed"
    marzban.down = False
    [button] = fake_telegram.buttons(tg_admin.id)
    assert button["text"] == "🔁 تلاش دوباره"  # the admin had not chosen a language: the shop's, Persian
    bot.press(tg_admin, button["callback_data"])
    account.refresh_from_db()
    assert account.status == "active" and marzban.user(account.name)
    assert f"Subscription #{account.subscription_id}" in fake_telegram.last_text(tg_admin.id)
    assert fake_telegram.calls_to("answerCallbackQuery")


def test_the_retry_button_is_for_admins_only(bot, fake_telegram, failed_account):
    user = TelegramUser(5550124, language_code="en")
    bot.press(user, f"pn:retry:{failed_account.subscription_id}")
    bot.press(user, "pn:retry:" + "9" * 30)  # no such shape: the transport says the button is stale
    failed_account.refresh_from_db()
    assert failed_account.status == "failed" and failed_account.attempts == 1
    assert fake_telegram.calls_to("answerCallbackQuery")
