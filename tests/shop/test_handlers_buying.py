"""Buying in the bot (handlers.buying): /plans, the buy:p / buy:q / buy:ok buttons, codes."""

import pytest

from tests.conftest import TelegramUser
from tests.factories import PlanFactory
from vpnbot.core import bounds
from vpnbot.shop import pricing
from vpnbot.shop.models import CheckoutCode, Customer, Order, Plan
from vpnbot.shop.services import wallet_apply
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db


def test_plans_lists_only_active_plans(bot, fake_telegram):
    user = TelegramUser(7100008, language_code="en")
    PlanFactory(name="Silver"), PlanFactory(name="Hidden", is_active=False)
    bot.send(user, "/plans")
    text = fake_telegram.last_text(user.id)
    assert "Silver" in text and "Hidden" not in text


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


def test_the_same_callback_update_twice_buys_once(bot, fake_telegram, tg_user):
    bot.send(tg_user, "/start")
    customer = Customer.objects.get(telegram_id=tg_user.id)
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


def test_a_shortfall_below_the_minimum_top_up_offers_the_minimum(bot, fake_telegram, settings):
    settings.TOPUP_MIN_AMOUNT = 10_000
    user = TelegramUser(7100011, language_code="en")
    bot.send(user, "/start")
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
    customer = Customer.objects.get(telegram_id=user.id)
    wallet_apply(customer_id=customer.pk, amount=100_000, reason="adjustment", source="w14")
    plan = PlanFactory(name="Silver", price_amount=100_000)
    bot.press(user, f"buy:ok:{plan.pk}:1:90000:0123abcd:SAVE_10")
    assert Order.objects.get(customer=customer).paid_amount == 90_000


def alerts(fake):
    return [c.params.get("text") for c in fake.calls_to("answerCallbackQuery") if c.params.get("text")]


def test_a_plan_stored_with_an_absurd_duration_is_refused_politely_at_every_step(bot, fake_telegram):
    user = TelegramUser(7100020, language_code="en")
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    wallet_apply(customer_id=customer.pk, amount=1_000_000, reason="adjustment", source="seed")
    plan = PlanFactory(price_amount=100_000)
    bot.press(user, f"buy:q:{plan.pk}:1")  # the confirmation, shown while the plan was sane
    pay = next(b for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("buy:ok:"))
    Plan.objects.filter(pk=plan.pk).update(duration_days=999_999_999)  # written around the bounds
    bot.press(user, f"buy:p:{plan.pk}")
    bot.press(user, f"buy:q:{plan.pk}:3")
    bot.press(user, pay["callback_data"])
    assert len(alerts(fake_telegram)) == 3
    assert all("cannot be bought right now" in text for text in alerts(fake_telegram))
    assert not TelegramUpdate.objects.exclude(status="done").exists()
    assert not Order.objects.exists()
    assert Customer.objects.get(pk=customer.pk).balance_amount == 1_000_000


def test_only_the_quantities_within_the_days_of_one_order_are_offered(bot, fake_telegram):
    user = TelegramUser(7100021, language_code="en")
    bot.send(user, "/start")
    wallet_apply(customer_id=Customer.objects.get(telegram_id=user.id).pk, amount=10**8, reason="adjustment", source="s")
    long = PlanFactory(duration_days=bounds.MAX_DAYS, price_amount=1000)
    bot.press(user, f"buy:p:{long.pk}")
    assert [b["callback_data"] for b in fake_telegram.buttons(user.id)] == [f"buy:q:{long.pk}:1"]
    bot.press(user, f"buy:q:{long.pk}:12")  # a button from an older message, or typed by hand
    assert any(f"at most {bounds.MAX_ORDER_DAYS:,} days" in text for text in alerts(fake_telegram))
    assert not Order.objects.exists()
    yearly = PlanFactory(duration_days=365)
    bot.press(user, f"buy:p:{yearly.pk}")
    assert [b["callback_data"] for b in fake_telegram.buttons(user.id)] == [f"buy:q:{yearly.pk}:{q}" for q in (1, 3, 6, 12)]
    assert not TelegramUpdate.objects.exclude(status="done").exists()


def test_the_refusals_of_the_bounds_speak_persian(bot, fake_telegram):
    user = TelegramUser(7100022, language_code="fa")
    bot.send(user, "/start")
    absurd, long = PlanFactory(), PlanFactory(duration_days=bounds.MAX_DAYS)
    Plan.objects.filter(pk=absurd.pk).update(duration_days=999_999_999)
    bot.press(user, f"buy:p:{absurd.pk}")
    bot.press(user, f"buy:q:{long.pk}:12")
    assert alerts(fake_telegram) == ["این پلن در حال حاضر قابل خرید نیست. لطفاً پلن دیگری انتخاب کنید یا درباره‌اش از "
                                     "فروشگاه بپرسید.", "هر سفارش حداکثر 7,300 روز سرویس می‌خرد؛ دوره‌های کمتری انتخاب کنید."]
