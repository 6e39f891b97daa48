"""The shop through the webhook, against the fake Telegram server."""

import pytest

from tests.conftest import TelegramUser
from tests.factories import CustomerFactory, PaymentFactory, PlanFactory
from vpnbot.shop.models import Customer, Order, Payment
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
    from vpnbot.shop.services import subscription_deliver_config

    subscription_deliver_config(subscription_id=order.subscription.pk, config="vless://secret-config")
    bot.send(user, "/my_services")
    services_text = fake_telegram.last_text(user.id)
    assert "Gold" in services_text and "vless://secret-config" in services_text

    bot.send(user, "/wallet")
    assert "50,000" in fake_telegram.last_text(user.id)
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


def test_the_same_callback_update_twice_buys_once(bot, fake_telegram, tg_user):
    bot.send(tg_user, "/start")
    customer = Customer.objects.get(telegram_id=tg_user.id)
    from vpnbot.shop.services import wallet_apply

    wallet_apply(customer_id=customer.pk, amount=1_000_000, reason="adjustment", source="seed")
    plan = PlanFactory(price_amount=100_000)
    bot.press(tg_user, f"buy:q:{plan.pk}:1")
    pay = next(b for b in fake_telegram.buttons(tg_user.id) if b["callback_data"].startswith("buy:ok:"))
    update = bot.callback_update(tg_user, pay["callback_data"])
    bot.post(update)
    bot.post(update)  # Telegram resends the same update
    bot.press(tg_user, pay["callback_data"])  # the customer presses again: a new update, same button
    assert Order.objects.filter(customer=customer).count() == 1
    assert "already done" in " ".join(c.params.get("text", "") for c in fake_telegram.calls_to("answerCallbackQuery")) or \
        any("قبلاً انجام شده" in c.params.get("text", "") for c in fake_telegram.calls_to("answerCallbackQuery"))


@pytest.mark.parametrize("text", ["abc", "-5000", "0", "99999999999999999999"])
def test_bad_topup_amounts_are_answered_and_asked_again(bot, fake_telegram, text):
    user = TelegramUser(7100001, language_code="en")
    bot.send(user, "/topup")
    bot.send(user, text)
    reply = fake_telegram.last_text(user.id)
    assert "How much do you want to add?" in reply
    assert "whole number" in reply or "between" in reply
    bot.photo(user)  # a photo while the amount is expected
    assert "as a number" in fake_telegram.last_text(user.id)
    assert not Payment.objects.exists()


def test_text_when_the_receipt_photo_is_expected(bot, fake_telegram):
    user = TelegramUser(7100002, language_code="en")
    bot.send(user, "/topup")
    bot.send(user, "100000")
    bot.send(user, "I paid!")
    assert "as a photo" in fake_telegram.last_text(user.id)
    assert not Payment.objects.exists()
    bot.send(user, "/cancel")
    assert "Cancelled" in fake_telegram.last_text(user.id)


def test_insufficient_balance_offers_a_topup_of_the_missing_amount(bot, fake_telegram):
    user = TelegramUser(7100003, language_code="en")
    bot.send(user, "/start")
    plan = PlanFactory(price_amount=100_000)
    bot.press(user, f"buy:q:{plan.pk}:3")
    pay = next(b for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("buy:ok:"))
    bot.press(user, pay["callback_data"])
    assert "short by 300,000" in fake_telegram.last_text(user.id)
    assert any(b["callback_data"] == "topup:300000" for b in fake_telegram.buttons(user.id))
    assert not Order.objects.exists()


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


def test_menu_buttons_and_language_switch(bot, fake_telegram):
    user = TelegramUser(7100007, language_code="en")
    bot.send(user, "/start")
    bot.send(user, "💰 Wallet")
    assert "Balance" in fake_telegram.last_text(user.id)
    bot.press(user, "lang:fa")
    bot.send(user, "💰 کیف پول")
    assert "موجودی" in fake_telegram.last_text(user.id)
    assert Customer.objects.get(telegram_id=user.id).language == "fa"


def test_plans_lists_only_active_plans(bot, fake_telegram):
    user = TelegramUser(7100008, language_code="en")
    PlanFactory(name="Silver"), PlanFactory(name="Hidden", is_active=False)
    bot.send(user, "/plans")
    text = fake_telegram.last_text(user.id)
    assert "Silver" in text and "Hidden" not in text


def test_blocking_and_unblocking_the_bot_is_recorded(bot, fake_telegram, tg_user):
    import time

    bot.send(tg_user, "/start")

    def member_update(status):
        return {"update_id": int(time.time() * 1000) + hash(status) % 1000, "my_chat_member": {
            "chat": {"id": tg_user.id, "type": "private"}, "from": tg_user.as_dict(), "date": int(time.time()),
            "old_chat_member": {"user": {"id": 777000111, "is_bot": True, "first_name": "VPN Shop"}, "status": "member"},
            "new_chat_member": {"user": {"id": 777000111, "is_bot": True, "first_name": "VPN Shop"}, "status": status,
                                **({"until_date": 0} if status == "kicked" else {})}}}

    bot.post(member_update("kicked"))
    assert Customer.objects.get(telegram_id=tg_user.id).blocked_at is not None
    bot.post(member_update("member"))
    assert Customer.objects.get(telegram_id=tg_user.id).blocked_at is None
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


@pytest.mark.parametrize("code", ["تخفیف‌ویژه‌برای‌شما‌دوستان", "SAVE!", "A" * 40])
def test_plans_with_an_unusable_code_still_shows_working_buttons(bot, fake_telegram, code):
    user = TelegramUser(7100009, language_code="en")
    plan = PlanFactory(name="Silver")
    bot.send(user, f"/plans {code}")
    assert "discount code is up to 32" in fake_telegram.last_text(user.id)
    assert [b["callback_data"] for b in fake_telegram.buttons(user.id)] == [f"buy:p:{plan.pk}"]


def test_plans_with_a_code_carries_it_to_the_buttons(bot, fake_telegram):
    user = TelegramUser(7100010, language_code="en")
    plan = PlanFactory(name="Silver")
    bot.send(user, "/plans SAVE_10")
    assert [b["callback_data"] for b in fake_telegram.buttons(user.id)] == [f"buy:p:{plan.pk}:SAVE_10"]


def test_a_shortfall_below_the_minimum_top_up_offers_the_minimum(bot, fake_telegram, settings):
    settings.TOPUP_MIN_AMOUNT = 10_000
    user = TelegramUser(7100011, language_code="en")
    bot.send(user, "/start")
    from vpnbot.shop.services import wallet_apply

    wallet_apply(customer_id=Customer.objects.get(telegram_id=user.id).pk, amount=95_000, reason="adjustment", source="s")
    plan = PlanFactory(price_amount=100_000)
    bot.press(user, f"buy:q:{plan.pk}:1")
    pay = next(b for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("buy:ok:"))
    bot.press(user, pay["callback_data"])
    assert "short by 5,000" in fake_telegram.last_text(user.id)
    assert [b["callback_data"] for b in fake_telegram.buttons(user.id)] == ["topup:10000"]
    bot.press(user, "topup:10000")
    assert "photo of the receipt" in fake_telegram.last_text(user.id)


@pytest.fixture
def code_adjuster():
    """A promo code worth 10% (as the discounts app would apply it), for any code in `valid`."""
    from vpnbot.shop import pricing

    valid = set()

    def adjust(quote, *, customer, plan, at, code):
        if code in valid:
            quote.discounts.append(pricing.AppliedDiscount("promo", quote.list_amount // 10, f"code:{code}"))
            quote.code_applied = True

    pricing.register_price_adjuster(adjust)
    yield valid
    pricing.unregister_price_adjuster(adjust)


def test_a_32_character_discount_code_reaches_the_payment(bot, fake_telegram, code_adjuster):
    code = "SUMMER_2026_" + "x" * 20  # the longest code /plans accepts
    code_adjuster.add(code)
    user = TelegramUser(7100012, language_code="en")
    PlanFactory(id=123456, name="Platinum", price_amount=1_500_000)  # a shop with many plans over the years
    bot.send(user, "/start")
    from vpnbot.shop.services import wallet_apply

    customer = Customer.objects.get(telegram_id=user.id)
    wallet_apply(customer_id=customer.pk, amount=20_000_000, reason="adjustment", source="w12")
    bot.send(user, f"/plans {code}")
    bot.press_button(user, "Platinum")
    bot.press_button(user, "12 ×")
    assert "promo" in fake_telegram.last_text(user.id)
    pay = next(b for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("buy:ok:"))
    assert len(pay["callback_data"].encode()) <= 64
    bot.press(user, pay["callback_data"])
    order = Order.objects.get(customer=customer)
    assert order.quote["code"] == code and order.paid_amount == 16_200_000
    assert "Paid" in fake_telegram.last_text(user.id)
    bot.press(user, pay["callback_data"])  # the same button again buys nothing more
    assert Order.objects.filter(customer=customer).count() == 1
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


def test_a_pay_button_whose_code_was_forgotten_asks_to_start_again(bot, fake_telegram, code_adjuster):
    from vpnbot.shop.models import CheckoutCode

    code_adjuster.add("SAVE_10")
    user = TelegramUser(7100013, language_code="en")
    plan = PlanFactory(name="Silver", price_amount=100_000)
    bot.press(user, f"buy:q:{plan.pk}:1:SAVE_10")
    pay = next(b for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("buy:ok:"))
    CheckoutCode.objects.all().delete()
    bot.press(user, pay["callback_data"])
    answers = fake_telegram.calls_to("answerCallbackQuery")
    assert "expired" in answers[-1].params["text"]
    assert not Order.objects.exists()
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


def test_a_pay_button_with_the_code_inside_still_works(bot, fake_telegram, code_adjuster):
    """Buttons sent before the code moved to the server end in :<code>."""
    code_adjuster.add("SAVE_10")
    user = TelegramUser(7100014, language_code="en")
    bot.send(user, "/start")
    from vpnbot.shop.services import wallet_apply

    customer = Customer.objects.get(telegram_id=user.id)
    wallet_apply(customer_id=customer.pk, amount=100_000, reason="adjustment", source="w14")
    plan = PlanFactory(name="Silver", price_amount=100_000)
    bot.press(user, f"buy:ok:{plan.pk}:1:90000:0123abcd:SAVE_10")
    assert Order.objects.get(customer=customer).paid_amount == 90_000


def test_my_services_never_cuts_a_config_in_two(bot, fake_telegram):
    """Several long configs go in several messages; one saved before the limit comes as a file."""
    from vpnbot.shop import services
    from vpnbot.shop.models import Subscription

    user = TelegramUser(7100015, language_code="en")
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    services.wallet_apply(customer_id=customer.pk, amount=1_000_000, reason="adjustment", source="w15")
    configs = {}
    for i, name in enumerate(("Alpha", "Beta", "Gamma")):
        order = services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory(name=name).pk, quantity=1,
                                        idempotency_key=f"ms{i}").order
        configs[name] = f"vless://{name}&" + "x" * (services.MAX_CONFIG_LENGTH - 20)
        services.subscription_deliver_config(subscription_id=order.subscription.pk, config=configs[name])
    legacy = Subscription.objects.get(plan__name="Gamma")
    Subscription.objects.filter(pk=legacy.pk).update(config="vless://legacy" + "y" * 19_000)
    fake_telegram.reset()
    bot.send(user, "/my_services")
    texts = fake_telegram.sent_texts(user.id)
    assert [t for t in texts if services.config_html(configs["Alpha"]) in t]
    assert [t for t in texts if services.config_html(configs["Beta"]) in t]
    assert all(t.count("<code>") == t.count("</code>") for t in texts)
    document = fake_telegram.calls_to("sendDocument", user.id)[-1]
    assert document.files["document"][1].decode().startswith("vless://legacy")
    assert TelegramUpdate.objects.filter(status="failed").count() == 0
