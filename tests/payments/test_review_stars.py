"""An adversary's review of Telegram Stars through the webhook (each test failed before its fix)."""

import pytest

from payments import services
from payments.models import Payment
from tests.conftest import TelegramUser
from tests.payments.test_stars import _stars_on, pay_with_stars, successful_payment_update  # noqa: F401
from vpnbot.shop.models import WalletTransaction


@pytest.mark.django_db
def test_an_invoice_paid_twice_is_not_lost_in_silence(bot, fake_telegram, customer, settings):
    """Two charges for one invoice (two devices, a race of pre-checkout answers): the second
    is not credited a second time, but it is not dropped either: the admins are told and the
    payment's timeline keeps the charge id, to give it back."""
    settings.ADMIN_TELEGRAM_IDS = [9001]
    user = TelegramUser(customer.telegram_id)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=100_000)
    invoice = fake_telegram.last_invoice(customer.telegram_id)
    first = pay_with_stars(bot, user, invoice)
    second = fake_telegram.pay_invoice(user_id=user.id, invoice=invoice)
    assert second["telegram_payment_charge_id"] != first["telegram_payment_charge_id"]
    bot.post(successful_payment_update(user, second))
    bot.post(successful_payment_update(user, second))  # redelivered: told once
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == "paid" and payment.provider_payment_id == first["telegram_payment_charge_id"]
    assert customer.balance_amount == 100_000
    assert WalletTransaction.objects.filter(customer=customer, reason="topup").count() == 1
    assert [e["detail"] for e in payment.timeline if e["event"] == "paid again"] == [
        f"telegram: {second['telegram_payment_charge_id']}"]
    alerts = [t for t in fake_telegram.sent_texts(9001) if "paid again" in t]
    assert len(alerts) == 1 and second["telegram_payment_charge_id"] in alerts[0] and f"#{payment.pk}" in alerts[0]
    assert any("second time" in t for t in fake_telegram.sent_texts(customer.telegram_id))
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_the_admin_names_a_second_charge_in_the_timeline(customer):
    from payments.admin import EVENTS

    assert str(EVENTS["paid again"]) == "paid again (not credited)"
