"""Smart discounts in the bot (discounts/handlers/), end to end: updates POSTed to the webhook,
the Bot API calls the fake Telegram received."""

from datetime import timedelta

import pytest
from django.utils import timezone

from discounts.models import SmartDiscount
from tests.conftest import TelegramUser
from tests.discounts.factories import CustomerFactory, PlanFactory, SmartDiscountFactory
from tests.discounts.helpers import refunded_orders_with_cashback
from vpnbot.core import bounds
from vpnbot.shop.models import Customer
from vpnbot.shop.services import order_checkout
from vpnbot.transport.models import TelegramUpdate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_cashback_5")]


@pytest.fixture
def english_user():
    return TelegramUser(5551234, first_name="Sam", username="sam", language_code="en")


def alerts(fake, chat_id=None):
    return [c.params.get("text") for c in fake.calls_to("answerCallbackQuery") if c.params.get("text")]


def assert_all_done():
    failed = TelegramUpdate.objects.exclude(status="done")
    assert not failed.exists(), [u.error for u in failed]


def test_available_discounts_then_buy_shows_the_discount(bot, fake_telegram, english_user):
    plan = PlanFactory(name="Gold VPN", price_amount=100_000)
    SmartDiscountFactory(kind="first_purchase", percent_bp=1500)
    SmartDiscountFactory(kind="birthday", percent_bp=2000)
    bot.send(english_user, "/available_discounts")
    text = fake_telegram.last_text(english_user.id)
    assert "First purchase: 15% off your first purchase" in text
    assert "your birthday month: set it with /set_birthday" in text
    assert "Cashback: 5% of what you pay" in text
    bot.send(english_user, "/buy")
    bot.press(english_user, f"buy:p:{plan.pk}")
    bot.press(english_user, f"buy:q:{plan.pk}:3")
    text = fake_telegram.last_text(english_user.id)
    assert "First purchase: −45,000 Toman" in text
    assert "Total: 255,000 Toman" in text
    assert "Cashback to your wallet after payment: 12,750 Toman" in text
    assert_all_done()


def test_available_discounts_in_persian(bot, fake_telegram, tg_user):
    SmartDiscountFactory(kind="hourly", percent_bp=1500, params={"ranges": [["20:00", "23:00"]]})
    bot.send(tg_user, "/available_discounts")
    text = fake_telegram.last_text(tg_user.id)
    assert "15%" in text and "20:00" in text and "23:00" in text
    assert "تخفیف" in text
    assert_all_done()


def test_promo_code_through_buy(bot, fake_telegram, english_user):
    plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(kind="code", code="NOWRUZ", percent_bp=1000)
    bot.send(english_user, "/buy nowruz")
    bot.press(english_user, f"buy:q:{plan.pk}:1:nowruz")
    assert "Code NOWRUZ: −10,000 Toman" in fake_telegram.last_text(english_user.id)
    assert "does not apply" not in fake_telegram.last_text(english_user.id)


def test_an_unknown_promo_code_is_pointed_out(bot, fake_telegram, english_user):
    plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(kind="code", code="NOWRUZ", percent_bp=1000, status="paused")
    bot.press(english_user, f"buy:q:{plan.pk}:1:NOWRUZ")
    text = fake_telegram.last_text(english_user.id)
    assert "The code NOWRUZ does not apply" in text and "Total: 100,000 Toman" in text


def test_set_birthday_once_per_180_days(bot, fake_telegram, english_user):
    bot.send(english_user, "/set_birthday")
    labels = [b["text"] for b in fake_telegram.buttons(english_user.id)]
    assert labels[0] == "Farvardin" and labels[11] == "Esfand"
    bot.press(english_user, "disc:bd:7")
    assert "Saved: Mehr" in fake_telegram.last_text(english_user.id)
    customer = Customer.objects.get(telegram_id=english_user.id)
    assert customer.birth_month == 7 and customer.birth_month_set_at is not None
    bot.press(english_user, "disc:bd:8")
    assert any("change your birth month again after" in a for a in alerts(fake_telegram))
    assert Customer.objects.get(pk=customer.pk).birth_month == 7
    bot.press(english_user, "disc:bd:99")
    assert Customer.objects.get(pk=customer.pk).birth_month == 7
    assert_all_done()


def test_birthday_months_in_persian(bot, fake_telegram, tg_user):
    bot.send(tg_user, "/set_birthday")
    labels = [b["text"] for b in fake_telegram.buttons(tg_user.id)]
    assert labels[0] == "فروردین" and labels[6] == "مهر"


@pytest.mark.parametrize("command", ["/add_smart_discount", "/list_smart_discounts", "/smart_discount_stats"])
def test_admin_commands_refuse_customers(bot, fake_telegram, english_user, command):
    bot.send(english_user, command)
    assert "for the shop's admins" in fake_telegram.last_text(english_user.id)
    assert not fake_telegram.calls_to("sendPhoto")


def test_admin_buttons_refuse_customers(bot, fake_telegram, english_user):
    discount = SmartDiscountFactory()
    bot.press(english_user, f"disc:delok:{discount.pk}:1")
    assert SmartDiscount.objects.filter(pk=discount.pk).exists()


def test_add_smart_discount_conversation(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/add_smart_discount")
    assert "What kind?" in fake_telegram.last_text(tg_admin.id)
    bot.press(tg_admin, "disc:new:hourly")
    bot.send(tg_admin, "fifteen")
    assert "not a valid amount" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "15% max 30000")
    bot.send(tg_admin, "100 1")
    bot.send(tg_admin, "sat,sun 25:00-23:00")
    assert "⚠️" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "sat,sun 20:00-23:00")
    bot.send(tg_admin, "30")
    bot.send(tg_admin, '{"all": [{"quantity": {"atleast": 3}}]}')
    assert "conditions.all[0].quantity: unknown comparison" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, '{"quantity": {"gte": 3}}')
    assert "create this discount?" in fake_telegram.last_text(tg_admin.id)
    assert not SmartDiscount.objects.exists()
    bot.press(tg_admin, "disc:new:ok")
    discount = SmartDiscount.objects.get()
    assert (discount.kind, discount.percent_bp, discount.cap_amount, discount.max_uses, discount.per_customer_limit) == (
        "hourly", 1500, 30000, 100, 1)
    assert discount.params == {"weekdays": [5, 6], "ranges": [["20:00", "23:00"]]}
    assert discount.conditions == {"quantity": {"gte": 3}}
    assert discount.ends_at is not None
    assert (discount.source, discount.created_by) == ("bot", "@boss")
    assert f"Discount #{discount.pk} created" in fake_telegram.last_text(tg_admin.id)
    assert_all_done()


def test_add_smart_discount_can_be_cancelled(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/add_smart_discount")
    bot.press(tg_admin, "disc:new:bulk")
    bot.send(tg_admin, "3:5%, 6:10%")
    bot.send(tg_admin, "/cancel")
    bot.send(tg_admin, "- 1")
    bot.press(tg_admin, "disc:new:ok")
    assert not SmartDiscount.objects.exists()


def test_list_pause_resume_delete_with_confirmation(bot, fake_telegram, tg_admin):
    discounts = [SmartDiscountFactory(title=f"D{i}") for i in range(7)]
    bot.send(tg_admin, "/list_smart_discounts")
    assert "page 1 of 2" in fake_telegram.last_text(tg_admin.id)
    newest = discounts[-1]
    bot.press(tg_admin, f"disc:pause:{newest.pk}:1")
    newest.refresh_from_db()
    assert newest.status == "paused"
    bot.press(tg_admin, f"disc:resume:{newest.pk}:1")
    newest.refresh_from_db()
    assert newest.status == "active"
    bot.press(tg_admin, f"disc:del:{newest.pk}:1")
    assert "Delete discount" in fake_telegram.last_text(tg_admin.id)
    assert SmartDiscount.objects.filter(pk=newest.pk).exists()
    bot.press(tg_admin, f"disc:delok:{newest.pk}:1")
    assert not SmartDiscount.objects.filter(pk=newest.pk).exists()
    bot.press(tg_admin, "disc:ls:2")
    assert "page 2 of 2" in fake_telegram.last_text(tg_admin.id)
    assert_all_done()


def test_stats_send_a_chart(bot, fake_telegram, tg_admin):
    plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(percent_bp=1000)
    customer = CustomerFactory.with_balance(500_000)
    order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="s1")
    bot.send(tg_admin, "/smart_discount_stats 7")
    texts = fake_telegram.sent_texts(tg_admin.id)
    assert any("Uses: 1" in t and "Discounted: 10,000 Toman" in t and "Revenue: 90,000 Toman" in t for t in texts)
    photo = fake_telegram.calls_to("sendPhoto", tg_admin.id)
    assert len(photo) == 1
    assert photo[0].files["photo"][1].startswith(b"\x89PNG") if isinstance(photo[0].files.get("photo"), tuple) else photo[0].files
    bot.send(tg_admin, "/smart_discount_stats abc")
    assert "period in days" in fake_telegram.last_text(tg_admin.id)
    assert_all_done()


def test_stats_show_the_same_cashback_figures_as_the_api(bot, fake_telegram, tg_admin):
    refunded_orders_with_cashback()
    bot.send(tg_admin, "/smart_discount_stats 7")
    assert any("Cashback paid: 9,000 Toman · Taken back: 5,500 Toman · Not recovered: 3,500 Toman · Net: 3,500 Toman"
               in t for t in fake_telegram.sent_texts(tg_admin.id))
    assert_all_done()


def test_user_discount_profile_own_and_for_admins(bot, fake_telegram, english_user, tg_admin):
    bot.send(english_user, "/user_discount_profile")
    text = fake_telegram.last_text(english_user.id)
    assert "Level: Bronze" in text and "Next level: Silver" in text
    bot.send(english_user, "/user_discount_profile @boss")
    assert "Only admins" in fake_telegram.last_text(english_user.id)
    bot.send(tg_admin, "/user_discount_profile @sam")
    assert "Discount profile of @sam" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "/user_discount_profile @nobody_here")
    assert "No customer found" in fake_telegram.last_text(tg_admin.id)
    assert_all_done()


def test_commands_say_the_feature_is_off(bot, fake_telegram, english_user, tg_admin, settings):
    settings.ENABLE_SMART_DISCOUNTS = False
    bot.send(english_user, "/available_discounts")
    assert "switched off" in fake_telegram.last_text(english_user.id)
    bot.send(tg_admin, "/add_smart_discount")
    assert "switched off" in fake_telegram.last_text(tg_admin.id)


def test_buttons_say_the_feature_is_off(bot, fake_telegram, english_user, tg_admin, settings):
    discount = SmartDiscountFactory()
    settings.ENABLE_SMART_DISCOUNTS = False
    bot.press(english_user, "disc:bd:3")
    bot.press(tg_admin, f"disc:delok:{discount.pk}:1")
    assert alerts(fake_telegram) == ["Smart discounts are switched off."] * 2
    assert Customer.objects.get(telegram_id=english_user.id).birth_month is None
    assert SmartDiscount.objects.filter(pk=discount.pk).exists()
    assert_all_done()


def test_a_button_of_no_known_shape_is_answered_as_stale(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/add_smart_discount")
    bot.press(tg_admin, "disc:new:nonsense")
    bot.press(tg_admin, "disc:pause:abc")
    assert all("no longer valid" in a for a in alerts(fake_telegram)) and len(alerts(fake_telegram)) == 2
    assert_all_done()


def test_available_discounts_shows_what_comes_soon(bot, fake_telegram, english_user):
    SmartDiscountFactory(kind="conditional", percent_bp=1000, title="Weekend sale",
                         starts_at=timezone.now() + timedelta(days=3))
    bot.send(english_user, "/available_discounts")
    text = fake_telegram.last_text(english_user.id)
    assert "Special offer «Weekend sale»: 10%" in text and "(from " in text


@pytest.mark.parametrize("period", ["²", "000010000000", "0"])
def test_stats_refuse_a_bad_period_with_a_message(bot, fake_telegram, tg_admin, period):
    bot.send(tg_admin, f"/smart_discount_stats {period}")
    assert "period in days" in fake_telegram.last_text(tg_admin.id)
    assert not fake_telegram.calls_to("sendPhoto")
    assert_all_done()


def test_stats_read_persian_digits(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/smart_discount_stats ۷")
    assert any("last 7 days" in t or "۷" in t for t in fake_telegram.sent_texts(tg_admin.id))
    assert_all_done()


def test_list_with_a_page_in_other_script_digits_shows_page_one(bot, fake_telegram, tg_admin):
    SmartDiscountFactory(title="D")
    bot.send(tg_admin, "/list_smart_discounts ²")
    assert "page 1 of 1" in fake_telegram.last_text(tg_admin.id)
    assert_all_done()


def test_add_smart_discount_refuses_other_script_digits_and_huge_numbers(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/add_smart_discount")
    bot.press(tg_admin, "disc:new:conditional")
    bot.send(tg_admin, "²")
    assert "not a valid amount" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "15%")
    bot.send(tg_admin, "² 1")
    assert "A limit is a whole number" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "10 1")
    bot.send(tg_admin, "²")
    assert "number of days between 1 and 3650" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "000001000000000000")
    assert "number of days between 1 and 3650" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "۳۰")
    bot.send(tg_admin, "-")
    bot.press(tg_admin, "disc:new:ok")
    discount = SmartDiscount.objects.get()
    assert (discount.percent_bp, discount.max_uses, discount.per_customer_limit) == (1500, 10, 1)
    assert 29 <= (discount.ends_at - discount.starts_at).days <= 30
    assert_all_done()


def test_add_smart_discount_refuses_too_deep_json_conditions(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/add_smart_discount")
    bot.press(tg_admin, "disc:new:conditional")
    bot.send(tg_admin, "15%")
    bot.send(tg_admin, "- 1")
    bot.send(tg_admin, "-")
    bot.send(tg_admin, '{"not": ' * 1500 + "{}" + "}" * 1500)
    assert "not valid JSON" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "-")
    assert "create this discount?" in fake_telegram.last_text(tg_admin.id)
    assert_all_done()



def test_add_smart_discount_refuses_limits_and_tiers_out_of_bounds_and_asks_again(bot, fake_telegram, tg_admin):
    bot.send(tg_admin, "/add_smart_discount")
    bot.press(tg_admin, "disc:new:bulk")
    bot.send(tg_admin, f"{bounds.MAX_QUANTITY + 1}:5%")
    assert "⚠️" in fake_telegram.last_text(tg_admin.id) and f"{bounds.MAX_QUANTITY:,}" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "amount:10000000000000:5%")  # 10**13: no order costs that
    assert "⚠️" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "3:5%, 6:10%")
    assert "Step 3/6" in fake_telegram.last_text(tg_admin.id)
    for limits in (f"{bounds.MAX_COUNT + 1} 1", "100 999999999"):
        bot.send(tg_admin, limits)
        text = fake_telegram.last_text(tg_admin.id)
        assert "⚠️" in text and f"{bounds.MAX_COUNT:,}" in text and "Step 3/6" in text
    bot.send(tg_admin, f"{bounds.MAX_COUNT} 1")
    assert "Step 4/6" in fake_telegram.last_text(tg_admin.id)
    bot.send(tg_admin, "-")
    bot.send(tg_admin, "-")
    bot.press(tg_admin, "disc:new:ok")
    discount = SmartDiscount.objects.get()
    assert (discount.max_uses, discount.params["tiers"][0]["min"]) == (bounds.MAX_COUNT, 3)
    assert_all_done()


def test_set_birthday_with_a_month_stored_out_of_bounds_still_answers(bot, fake_telegram, english_user):
    bot.send(english_user, "/start")
    Customer.objects.filter(telegram_id=english_user.id).update(birth_month=13)  # written before the bounds
    SmartDiscountFactory(kind="birthday", percent_bp=2000)
    bot.send(english_user, "/available_discounts")
    assert "set it with /set_birthday" in fake_telegram.last_text(english_user.id)
    bot.send(english_user, "/set_birthday")
    assert "Which month is your birthday?" in fake_telegram.last_text(english_user.id)
    bot.press(english_user, "disc:bd:13")
    assert alerts(fake_telegram) == ["Choose a month from the list."]
    bot.press(english_user, "disc:bd:3")
    assert Customer.objects.get(telegram_id=english_user.id).birth_month == 3
    assert_all_done()
