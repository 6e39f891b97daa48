"""The shop through the webhook, against the fake Telegram server: the whole journey, and the
callback shapes the handlers register (handlers/__init__)."""

import pytest

from tests.conftest import TelegramUser
from tests.factories import PlanFactory
from vpnbot.shop.models import Customer, Order, Payment
from vpnbot.shop.services import subscription_deliver_config
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db


def admin_ids():
    return (9001, 9002)


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_whole_customer_journey(bot, fake_telegram, lang):
    inviter = TelegramUser(7000001, first_name="Ali", username="ali", language_code=lang)
    bot.send(inviter, "/start")
    code = Customer.objects.get(telegram_id=7000001).referral_code
    plan = PlanFactory(name="Gold", price_amount=150_000, duration_days=30)
    user = TelegramUser(7000002, first_name="Sara", username="sara", language_code=lang)
    admin = TelegramUser(9001, first_name="Boss", username="boss", language_code="en")

    bot.send(user, f"/start ref_{code}")
    customer = Customer.objects.get(telegram_id=user.id)
    assert customer.referred_by.telegram_id == inviter.id
    welcome = fake_telegram.last_text(user.id)
    assert ("خوش آمدید" if lang == "fa" else "welcome") in welcome

    # top-up: amount, then the receipt photo
    bot.send(user, "/topup")
    bot.send(user, "200000")
    assert ("عکس رسید" if lang == "fa" else "photo of the receipt") in fake_telegram.last_text(user.id)
    bot.photo(user)
    payment = Payment.objects.get(customer=customer)
    assert payment.amount == 200_000 and payment.receipt_file_id.startswith("AgAC-large")
    for admin_id in admin_ids():
        photos = fake_telegram.calls_to("sendPhoto", admin_id)
        assert photos and "200,000" in photos[-1].text
    assert {b["callback_data"] for b in fake_telegram.buttons(9001)} == {f"pay:ok:{payment.pk}", f"pay:no:{payment.pk}"}

    # an admin approves; the customer is told; both admins' copies are closed
    bot.press(admin, f"pay:ok:{payment.pk}")
    customer.refresh_from_db()
    assert customer.balance_amount == 200_000
    assert ("تأیید شد" if lang == "fa" else "was approved") in fake_telegram.last_text(user.id)
    assert len(fake_telegram.calls_to("editMessageCaption")) == 2

    # buy: plan -> quantity -> confirmation -> pay
    bot.send(user, "/buy")
    bot.press(user, f"buy:p:{plan.pk}")
    bot.press(user, f"buy:q:{plan.pk}:1")
    confirmation = fake_telegram.last_text(user.id)
    assert "150,000" in confirmation
    pay = next(b for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("buy:ok:"))
    bot.press(user, pay["callback_data"])
    order = Order.objects.get(customer=customer)
    assert order.paid_amount == 150_000
    customer.refresh_from_db()
    assert customer.balance_amount == 50_000
    # the inviter got 10% of the first purchase
    assert Customer.objects.get(telegram_id=inviter.id).balance_amount == 15_000

    # manual provisioning: admins are asked, the operator delivers the config, the customer sees it
    assert any("needs a VPN config" in t for t in fake_telegram.sent_texts(9001))
    subscription_deliver_config(subscription_id=order.subscription.pk, config="vless://secret-config")
    bot.send(user, "/my_services")
    services_text = fake_telegram.last_text(user.id)
    assert "Gold" in services_text and "vless://secret-config" in services_text

    bot.send(user, "/wallet")
    assert "50,000" in fake_telegram.last_text(user.id)
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


@pytest.mark.parametrize("data", ["buy:p:999999", "buy:q:{inactive}:1", "buy:q:{plan}:7", "buy:ok:{plan}:1:1:zzzz",
                                  "buy:p:1;DROP", "buy:" + "9" * 50, "pay:ok:abc"])
def test_forged_stale_or_unknown_callbacks_change_nothing(bot, fake_telegram, data):
    user = TelegramUser(7100004, language_code="en")
    bot.send(user, "/start")
    plan, inactive = PlanFactory(), PlanFactory(is_active=False)
    bot.press(user, data.format(plan=plan.pk, inactive=inactive.pk))
    answers = fake_telegram.calls_to("answerCallbackQuery")
    assert answers, "every callback is answered"
    assert not Order.objects.exists()
    assert TelegramUpdate.objects.filter(status="failed").count() == 0
