"""/my_services in the bot (handlers.my_services)."""

import pytest

from tests.conftest import TelegramUser
from tests.factories import PlanFactory
from vpnbot.shop import formatting, services
from vpnbot.shop.models import Customer, Subscription
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db


def test_my_services_never_cuts_a_config_in_two(bot, fake_telegram):
    """Several long configs go in several messages; one saved before the limit comes as a file."""

    user = TelegramUser(7100015, language_code="en")
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    services.wallet_apply(customer_id=customer.pk, amount=1_000_000, reason="adjustment", source="w15")
    configs = {}
    for i, name in enumerate(("Alpha", "Beta", "Gamma")):
        order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(name=name).pk, quantity=1,
                                        idempotency_key=f"ms{i}").order
        configs[name] = f"vless://{name}&" + "x" * (formatting.MAX_CONFIG_LENGTH - 20)
        services.subscription_deliver_config(subscription_id=order.subscription.pk, config=configs[name])
    legacy = Subscription.objects.get(plan__name="Gamma")
    Subscription.objects.filter(pk=legacy.pk).update(config="vless://legacy" + "y" * 19_000)
    fake_telegram.reset()
    bot.send(user, "/my_services")
    texts = fake_telegram.sent_texts(user.id)
    assert [t for t in texts if formatting.config_html(configs["Alpha"]) in t]
    assert [t for t in texts if formatting.config_html(configs["Beta"]) in t]
    assert all(t.count("<code>") == t.count("</code>") for t in texts)
    document = fake_telegram.calls_to("sendDocument", user.id)[-1]
    assert document.files["document"][1].decode().startswith("vless://legacy")
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


def test_a_service_delivered_by_hand_is_shown_as_before(bot, fake_telegram):
    """No account on a panel: the config in <code> with the days, no picture and no buttons."""
    user = TelegramUser(7100016, language_code="en")
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    services.wallet_apply(customer_id=customer.pk, amount=1_000_000, reason="adjustment", source="w16")
    order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(name="Silver").pk, quantity=1,
                                    idempotency_key="ms-manual").order
    services.subscription_deliver_config(subscription_id=order.subscription.pk, config="vless://by-hand?a=1&b=<2>")
    sub = Subscription.objects.get(pk=order.subscription.pk)
    fake_telegram.reset()
    bot.send(user, "/my_services")
    sent = fake_telegram.calls_to("sendMessage", user.id)
    assert [c.text for c in sent] == [
        f"📦 Silver — until {formatting.format_date(sub.expires_at, customer)} ({formatting.days_left(sub)} days left)\n"
        "<code>vless://by-hand?a=1&amp;b=&lt;2&gt;</code>"]
    assert "reply_markup" not in sent[0].params
    assert not fake_telegram.calls_to("sendPhoto", user.id)
    assert TelegramUpdate.objects.filter(status="failed").count() == 0
