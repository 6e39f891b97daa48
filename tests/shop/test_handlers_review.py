"""The admins' review buttons in the bot (handlers.review)."""

import pytest

from tests.conftest import TelegramUser
from tests.factories import CustomerFactory, PaymentFactory
from vpnbot.shop.models import Customer, Payment

pytestmark = pytest.mark.django_db


def test_a_non_admin_cannot_approve(bot, fake_telegram):
    user = TelegramUser(7100005, language_code="en")
    payment = PaymentFactory()
    bot.press(user, f"pay:ok:{payment.pk}")
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert "admins" in fake_telegram.calls_to("answerCallbackQuery")[-1].params["text"]


def test_an_admin_rejects_with_a_reason(bot, fake_telegram, tg_admin):
    payment = PaymentFactory(customer=CustomerFactory(language="en"))
    bot.press(tg_admin, f"pay:no:{payment.pk}")
    assert "Why is top-up" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "The receipt is unreadable")
    payment.refresh_from_db()
    assert payment.status == "rejected" and payment.reason == "The receipt is unreadable"
    assert "unreadable" in fake_telegram.last_text(payment.customer.telegram_id)
    bot.press(tg_admin, f"pay:ok:{payment.pk}")  # too late
    assert Payment.objects.get(pk=payment.pk).status == "rejected"
    assert Customer.objects.get(pk=payment.customer_id).balance_amount == 0


def test_operator_flag_makes_an_admin(bot, fake_telegram):
    operator = TelegramUser(7100006, language_code="en")
    bot.send(operator, "/start")
    Customer.objects.filter(telegram_id=operator.id).update(is_operator=True)
    payment = PaymentFactory()
    bot.press(operator, f"pay:ok:{payment.pk}")
    assert Payment.objects.get(pk=payment.pk).status == "approved"
