"""The customer's side of a service on a panel, through the webhook against the fake panels:
/my_services (usage bar, link, QR code, buttons), a new link, extra traffic, the free trial."""

import importlib
import io
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone, translation
from PIL import Image

from notifications.models import Notification
from panels import services as panel_services
from panels.models import PanelAccount
from tests.conftest import TelegramUser, run_threads
from tests.factories import CustomerFactory, PlanFactory
from tests.panels.conftest import GB
from vpnbot.shop import formatting
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import (
    Customer,
    DomainEvent,
    Subscription,
    TrafficPack,
    TrafficPurchase,
    Trial,
    WalletTransaction,
)
from vpnbot.transport.models import TelegramUpdate

pytestmark = pytest.mark.django_db
my_services_module = importlib.import_module("vpnbot.shop.handlers.my_services")  # the package's my_services is the handler
_users = iter(range(7_300_000, 7_400_000))


@pytest.fixture(autouse=True)
def _no_cashback(settings):
    """Balances as the shop counts them (the discounts app's cashback has its own tests)."""
    settings.DEFAULT_CASHBACK_PERCENT = 0


def new_user(language="en") -> TelegramUser:
    return TelegramUser(next(_users), language_code=language, username=None)


def customer_of(bot, user, balance=0) -> Customer:
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    if balance:
        shop_services.wallet_apply(customer_id=customer.pk, amount=balance, reason="adjustment",
                                   source=f"seed:{customer.pk}")
        customer.refresh_from_db()
    return customer


def buy(customer, plan, capture, key="k1"):
    with capture(execute=True):
        return shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1,
                                            idempotency_key=f"{customer.pk}:{key}").order


def last_photo(fake, chat_id):
    photos = fake.calls_to("sendPhoto", chat_id)
    assert photos, "no photo was sent"
    return photos[-1]


def callbacks(fake, chat_id) -> set[str]:
    return {b["callback_data"] for b in fake.buttons(chat_id) if "callback_data" in b}


def alerts(fake) -> list[str]:
    return [c.params.get("text") or "" for c in fake.calls_to("answerCallbackQuery") if c.params.get("show_alert")]


def no_failed_updates():
    assert TelegramUpdate.objects.filter(status="failed").count() == 0


# --- /my_services -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["fa", "en"])
def test_my_services_shows_usage_link_qr_and_buttons(language, bot, fake_telegram, marzban, make_panel, plan,
                                                     django_capture_on_commit_callbacks):
    panel = make_panel(marzban, plans=[plan])
    TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    user = new_user(language)
    customer = customer_of(bot, user, balance=500_000)
    order = buy(customer, plan, django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    marzban.set_usage(account.name, 48 * GB // 10)
    panel_services.panel_sync(panel_id=panel.pk)
    account.refresh_from_db()
    fake_telegram.reset()

    bot.send(user, "/my_services")

    photo = last_photo(fake_telegram, user.id)
    caption = photo.params["caption"]
    assert photo.params["parse_mode"] == "HTML"
    assert "▰▰▰▰▰▱▱▱▱▱ 4.8 / 10" in caption and "(48%)" in caption
    assert f"<code>{account.subscription_url}</code>" in caption
    sub = order.subscription
    assert formatting.format_date(sub.expires_at, customer) in caption  # Jalali in Persian
    assert formatting.format_date(account.synced_at, customer) in caption  # when the usage was read
    days = formatting.days_until(sub.expires_at)
    if language == "fa":
        assert "گیگابایت" in caption and f"{days} روز مانده" in caption and "/" in formatting.format_date(sub.expires_at, customer)
        assert formatting.format_date(sub.expires_at, customer).startswith("14")  # a Solar Hijri year
    else:
        assert " GB " in caption and f"{days} days left" in caption
    # the picture is the QR code of the link, a real PNG
    filename, png = photo.files["photo"]
    assert filename.endswith(".png") and png == formatting.qr_png(account.subscription_url)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] == image.size[1] >= 200
    # the buttons
    assert callbacks(fake_telegram, user.id) == {f"buy:p:{plan.pk}", f"tp:{sub.pk}", f"svc:link:{sub.pk}"}
    labels = " ".join(b["text"] for b in fake_telegram.buttons(user.id))
    assert ("تمدید" in labels and "ترافیک بیشتر" in labels and "لینک جدید" in labels) if language == "fa" else (
        "Renew" in labels and "More traffic" in labels and "New link" in labels)
    assert not fake_telegram.calls_to("sendMessage", user.id)  # all of it in the caption
    no_failed_updates()


def test_renew_from_the_photo_starts_the_buy_flow_in_a_new_message(bot, fake_telegram, marzban, make_panel, plan,
                                                                   django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    buy(customer, plan, django_capture_on_commit_callbacks)
    bot.send(user, "/my_services")
    fake_telegram.reset()
    update = bot.callback_update(user, f"buy:p:{plan.pk}")
    message = update["callback_query"]["message"]
    del message["text"]  # the button is under the QR code: a photo with a caption, no text to edit
    message.update(photo=[{"file_id": "AgAC-qr", "file_unique_id": "q1", "width": 330, "height": 330}], caption="…")
    bot.post(update)
    assert not fake_telegram.calls_to("editMessageText", user.id)
    assert "How many periods?" in fake_telegram.calls_to("sendMessage", user.id)[-1].text
    assert any(b["callback_data"] == f"buy:q:{plan.pk}:1" for b in fake_telegram.buttons(user.id))
    no_failed_updates()


def test_a_caption_too_long_comes_as_text_then_the_photo(bot, fake_telegram, marzban, make_panel, plan, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    monkeypatch.setattr(my_services_module, "MAX_CAPTION", 60)
    make_panel(marzban, plans=[plan])
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    sub = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    account = PanelAccount.objects.get()
    fake_telegram.reset()
    bot.send(user, "/my_services")
    calls = [c for c in fake_telegram.calls_to(None, user.id) if c.method in ("sendMessage", "sendPhoto")]
    assert [c.method for c in calls] == ["sendMessage", "sendPhoto"]
    assert account.subscription_url in calls[0].text and "▱" in calls[0].text
    assert f"svc:link:{sub.pk}" in str(calls[0].params["reply_markup"])
    assert len(calls[1].params["caption"]) <= 60
    no_failed_updates()


def test_unlimited_traffic_shows_what_was_used_and_sells_no_traffic(bot, fake_telegram, marzban, make_panel,
                                                                    django_capture_on_commit_callbacks):
    unlimited = PlanFactory(name="Unlimited", traffic_gb=0, price_amount=100_000)
    panel = make_panel(marzban, plans=[unlimited])
    TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    sub = buy(customer, unlimited, django_capture_on_commit_callbacks).subscription
    account = PanelAccount.objects.get()
    assert account.limit_bytes == 0
    marzban.set_usage(account.name, int(3.1 * GB))
    panel_services.panel_sync(panel_id=panel.pk)
    fake_telegram.reset()
    bot.send(user, "/my_services")
    caption = last_photo(fake_telegram, user.id).params["caption"]
    assert "Unlimited traffic, 3.1 GB used" in caption and "▱" not in caption
    assert callbacks(fake_telegram, user.id) == {f"buy:p:{unlimited.pk}", f"svc:link:{sub.pk}"}
    bot.press(user, f"tp:{sub.pk}")  # a forged press changes nothing
    assert any("unlimited traffic already" in a for a in alerts(fake_telegram))
    assert not TrafficPurchase.objects.exists()
    no_failed_updates()


def test_a_failed_or_pending_account_is_being_prepared(bot, fake_telegram, marzban, make_panel, plan, settings,
                                                       django_capture_on_commit_callbacks):
    settings.PANEL_PROVISION_MAX_RETRIES = 0
    make_panel(marzban, plans=[plan])
    marzban.down = True
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    sub = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    assert PanelAccount.objects.get().status == "failed"
    for status in ("failed", "pending"):
        PanelAccount.objects.update(status=status)
        fake_telegram.reset()
        bot.send(user, "/my_services")
        text = fake_telegram.last_text(user.id)
        assert "being prepared" in text and plan.name in text
        assert not fake_telegram.calls_to("sendPhoto", user.id)
        bot.press(user, f"svc:linkok:{sub.pk}")  # nothing to give a new link to yet
        assert marzban.count_calls("/revoke_sub") == 0
    no_failed_updates()


def test_a_renewal_waiting_to_start_is_one_service_with_the_later_end(bot, fake_telegram, marzban, make_panel, plan,
                                                                      django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    first = buy(customer, plan, django_capture_on_commit_callbacks, key="a").subscription
    renewal = buy(customer, plan, django_capture_on_commit_callbacks, key="b").subscription
    assert renewal.renewed_from_id == first.pk and PanelAccount.objects.count() == 1
    fake_telegram.reset()
    bot.send(user, "/my_services")
    photos = fake_telegram.calls_to("sendPhoto", user.id)
    assert len(photos) == 1
    caption = photos[0].params["caption"]
    assert formatting.format_date(renewal.expires_at, customer) in caption
    assert formatting.format_date(first.expires_at, customer) not in caption
    assert f"svc:link:{first.pk}" in callbacks(fake_telegram, user.id)
    no_failed_updates()


# --- a new link --------------------------------------------------------------------------------------------

def test_new_link_after_a_confirmation_kills_the_old_one(bot, fake_telegram, xui, make_panel, plan,
                                                         django_capture_on_commit_callbacks):
    make_panel(xui, plans=[plan])
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    sub = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    old = PanelAccount.objects.get().subscription_url
    assert httpx.get(old, timeout=5).status_code == 200

    bot.press(user, f"svc:link:{sub.pk}")
    assert "old link will stop working" in fake_telegram.last_text(user.id)
    assert callbacks(fake_telegram, user.id) == {f"svc:linkok:{sub.pk}", "svc:cancel"}
    bot.press(user, "svc:cancel")
    assert PanelAccount.objects.get().subscription_url == old and httpx.get(old, timeout=5).status_code == 200

    bot.press(user, f"svc:link:{sub.pk}")
    bot.press(user, f"svc:linkok:{sub.pk}")
    new = PanelAccount.objects.get().subscription_url
    assert new != old
    assert httpx.get(old, timeout=5).status_code in (400, 404)  # the old link is dead on the panel
    assert httpx.get(new, timeout=5).status_code == 200
    texts = fake_telegram.sent_texts(user.id)
    assert any("new link is in the next message" in t for t in texts)
    assert any(f"<code>{new}</code>" in t for t in texts)  # the shop's config delivery
    assert Subscription.objects.get(pk=sub.pk).config == new
    bot.press(user, f"svc:linkok:{sub.pk}")  # a double tap makes no second link
    assert PanelAccount.objects.get().subscription_url == new
    no_failed_updates()


@pytest.mark.parametrize("data", ["svc:link:{sub}", "svc:linkok:{sub}", "svc:linkok:999999", "svc:linkok:abc",
                                  "svc:linkok:{manual}"])
def test_new_link_for_someone_else_a_stale_or_forged_id_is_refused(data, bot, fake_telegram, xui, make_panel, plan,
                                                                    django_capture_on_commit_callbacks):
    make_panel(xui, plans=[plan])
    owner = customer_of(bot, new_user(), balance=500_000)
    sub = buy(owner, plan, django_capture_on_commit_callbacks).subscription
    old = PanelAccount.objects.get().subscription_url
    intruder = new_user()
    intruder_customer = customer_of(bot, intruder, balance=500_000)
    manual = buy(intruder_customer, PlanFactory(name="By hand"), django_capture_on_commit_callbacks).subscription
    fake_telegram.reset()
    bot.press(intruder, data.format(sub=sub.pk, manual=manual.pk))
    assert fake_telegram.calls_to("answerCallbackQuery"), "every press is answered"
    assert PanelAccount.objects.get().subscription_url == old and httpx.get(old, timeout=5).status_code == 200
    assert not fake_telegram.calls_to("sendMessage", owner.telegram_id)
    no_failed_updates()


def test_new_link_when_the_panel_is_down_is_a_polite_message(bot, fake_telegram, xui, make_panel, plan,
                                                             django_capture_on_commit_callbacks):
    make_panel(xui, plans=[plan])
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    sub = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    old = PanelAccount.objects.get().subscription_url
    xui.down = True
    bot.press(user, f"svc:linkok:{sub.pk}")
    assert "could not be reached" in fake_telegram.last_text(user.id)
    xui.down = False
    assert PanelAccount.objects.get().subscription_url == old
    bot.press(user, f"svc:linkok:{sub.pk}")  # a refused attempt does not hold the next one back
    assert PanelAccount.objects.get().subscription_url != old
    no_failed_updates()


# --- extra traffic -----------------------------------------------------------------------------------------

def test_more_traffic_pick_confirm_pay_once_and_the_panel_limit_rises(bot, fake_telegram, marzban, make_panel, plan,
                                                                      django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    pack = TrafficPack.objects.create(name="Boost 5", traffic_gb=5, price_amount=30_000, sort_order=2)
    TrafficPack.objects.create(name="Off sale", traffic_gb=50, price_amount=1, is_active=False)
    TrafficPack.objects.create(name="Boost 20", traffic_gb=20, price_amount=90_000, sort_order=1)
    user = new_user()
    customer = customer_of(bot, user, balance=200_000)
    sub = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    account = PanelAccount.objects.get()
    assert marzban.user(account.name)["data_limit"] == 10 * GB

    bot.send(user, "/my_services")
    bot.press_button(user, "More traffic")
    assert "Choose a pack" in fake_telegram.last_text(user.id)
    packs = [b["callback_data"] for b in fake_telegram.buttons(user.id)]
    assert packs[:2] == [f"tp:{sub.pk}:{TrafficPack.objects.get(name='Boost 20').pk}", f"tp:{sub.pk}:{pack.pk}"]
    assert "Off sale" not in str(fake_telegram.buttons(user.id))
    bot.press(user, f"tp:{sub.pk}:{pack.pk}")
    confirmation = fake_telegram.last_text(user.id)
    assert "30,000" in confirmation and "100,000" in confirmation  # the price and the wallet balance
    pay = next(b["callback_data"] for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("tpok:"))
    with django_capture_on_commit_callbacks(execute=True):
        bot.press(user, pay)
        bot.press(user, pay)  # pressed twice: paid once

    purchase = TrafficPurchase.objects.get()
    assert (purchase.customer, purchase.subscription_id, purchase.traffic_gb, purchase.amount) == (customer, sub.pk, 5, 30_000)
    ledger = WalletTransaction.objects.filter(customer=customer, reason="traffic")
    assert [(t.amount, t.source) for t in ledger] == [(-30_000, f"traffic:{purchase.pk}")]
    customer.refresh_from_db()
    assert customer.balance_amount == 70_000
    account.refresh_from_db()
    assert account.limit_bytes == 15 * GB
    assert marzban.user(account.name)["data_limit"] == 15 * GB  # read on the panel
    texts = fake_telegram.sent_texts(user.id)
    assert any("5 GB added" in t and "15 GB" in t for t in texts)
    assert any("already done" in (c.params.get("text") or "") for c in fake_telegram.calls_to("answerCallbackQuery"))
    event = DomainEvent.objects.get(name="traffic_bought")
    assert event.payload["purchase_id"] == purchase.pk and event.payload["traffic_gb"] == 5
    no_failed_updates()


def test_more_traffic_with_too_little_in_the_wallet_says_what_is_missing(bot, fake_telegram, marzban, make_panel, plan,
                                                                         django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    pack = TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    user = new_user()
    customer = customer_of(bot, user, balance=110_000)
    sub = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    bot.press(user, f"tp:{sub.pk}:{pack.pk}")
    pay = next(b["callback_data"] for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("tpok:"))
    bot.press(user, pay)
    text = fake_telegram.last_text(user.id)
    assert "short by 20,000" in text and "/topup" in text
    assert any(b["callback_data"].startswith("topup:") for b in fake_telegram.buttons(user.id))
    assert not TrafficPurchase.objects.exists()
    assert not WalletTransaction.objects.filter(reason="traffic").exists()
    customer.refresh_from_db()
    assert customer.balance_amount == 10_000
    assert PanelAccount.objects.get().limit_bytes == 10 * GB
    no_failed_updates()


def test_a_price_changed_after_the_confirmation_is_shown_again_not_charged(bot, fake_telegram, marzban, make_panel,
                                                                          plan, django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    pack = TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    sub = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    bot.press(user, f"tp:{sub.pk}:{pack.pk}")
    pay = next(b["callback_data"] for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("tpok:"))
    TrafficPack.objects.filter(pk=pack.pk).update(price_amount=45_000)
    bot.press(user, pay)
    assert "price changed" in fake_telegram.last_text(user.id) and "45,000" in fake_telegram.last_text(user.id)
    assert not TrafficPurchase.objects.exists()
    no_failed_updates()


def test_a_manual_subscription_gets_no_traffic_button_and_a_forged_press_buys_nothing(bot, fake_telegram, marzban,
                                                                                      make_panel, plan,
                                                                                      django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])  # the panel sells another plan
    manual_plan = PlanFactory(name="By hand", traffic_gb=10)
    pack = TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    sub = buy(customer, manual_plan, django_capture_on_commit_callbacks).subscription
    shop_services.subscription_deliver_config(subscription_id=sub.pk, config="vless://by-hand")
    fake_telegram.reset()
    bot.send(user, "/my_services")
    assert "<code>vless://by-hand</code>" in fake_telegram.last_text(user.id)
    assert not any(b.get("callback_data", "").startswith("tp:") for b in fake_telegram.buttons(user.id))
    assert not fake_telegram.calls_to("sendPhoto", user.id)
    bot.press(user, f"tp:{sub.pk}")
    bot.press(user, f"tpok:{sub.pk}:{pack.pk}:30000:abcdef12")
    assert any("services on our servers only" in a for a in alerts(fake_telegram))
    assert not TrafficPurchase.objects.exists()
    customer.refresh_from_db()
    assert customer.balance_amount == 400_000
    no_failed_updates()


def test_another_customers_service_is_refused(bot, fake_telegram, marzban, make_panel, plan,
                                              django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    pack = TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    owner = customer_of(bot, new_user(), balance=500_000)
    sub = buy(owner, plan, django_capture_on_commit_callbacks).subscription
    intruder = new_user()
    payer = customer_of(bot, intruder, balance=500_000)
    bot.press(intruder, f"tp:{sub.pk}:{pack.pk}")
    bot.press(intruder, f"tpok:{sub.pk}:{pack.pk}:30000:abcdef12")
    assert any("not one of your running services" in a for a in alerts(fake_telegram))
    assert not TrafficPurchase.objects.exists()
    payer.refresh_from_db()
    assert payer.balance_amount == 500_000 and PanelAccount.objects.get().limit_bytes == 10 * GB


def test_a_refusal_of_the_seam_takes_the_payment_back(bot, fake_telegram, marzban, make_panel, plan, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    """The seam refuses after the ledger row was written (the account was switched off in
    between): the purchase, the ledger row and the debit go back with it."""
    make_panel(marzban, plans=[plan])
    pack = TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    customer = CustomerFactory.with_balance(500_000, language="en")
    sub = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    real = panel_services.account_add_traffic

    def switched_off_meanwhile(**kwargs):
        assert WalletTransaction.objects.filter(reason="traffic").exists()  # paid, inside the transaction
        PanelAccount.objects.update(status="disabled")
        return real(**kwargs)

    monkeypatch.setattr(panel_services, "account_add_traffic", switched_off_meanwhile)
    with translation.override("en"), pytest.raises(shop_services.ShopError, match="switched off"):
        shop_services.traffic_checkout(customer_id=customer.pk, subscription_id=sub.pk, pack_id=pack.pk,
                                       idempotency_key="x1")
    assert not TrafficPurchase.objects.exists() and not WalletTransaction.objects.filter(reason="traffic").exists()
    assert not DomainEvent.objects.filter(name="traffic_bought").exists()
    customer.refresh_from_db()
    assert customer.balance_amount == 400_000
    account = PanelAccount.objects.get()
    assert account.limit_bytes == 10 * GB and account.status == "active"  # the whole transaction went back
    assert marzban.user(account.name)["data_limit"] == 10 * GB


def test_extra_traffic_lowers_the_warning_already_sent_with_the_usage(marzban, make_panel, plan, fake_telegram,
                                                                      django_capture_on_commit_callbacks):
    panel = make_panel(marzban, plans=[plan])
    customer = CustomerFactory.with_balance(500_000, language="en")
    sub = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    account = PanelAccount.objects.get()
    marzban.set_usage(account.name, 9 * GB)
    panel_services.panel_sync(panel_id=panel.pk)
    account.refresh_from_db()
    assert account.warned_percent == 80
    pack = TrafficPack.objects.create(name="Boost", traffic_gb=2, price_amount=10_000)
    with django_capture_on_commit_callbacks(execute=True):
        shop_services.traffic_checkout(customer_id=customer.pk, subscription_id=sub.pk, pack_id=pack.pk,
                                       idempotency_key="w1")
    account.refresh_from_db()
    assert account.limit_bytes == 12 * GB and account.warned_percent == 0  # 75 %: the 80 % warning comes again
    marzban.set_usage(account.name, 10 * GB)
    panel_services.panel_sync(panel_id=panel.pk)
    account.refresh_from_db()
    assert account.warned_percent == 80
    warnings = Notification.objects.filter(customer=customer, type="traffic_warning").order_by("id")
    assert [n.context["percent"] for n in warnings] == [80, 80]  # once per limit: the new limit is a new period


# --- the free trial ------------------------------------------------------------------------------------------

@pytest.fixture
def trial_on(settings, plan):
    settings.TRIAL_ENABLED = True
    settings.TRIAL_PLAN_ID = plan.pk
    settings.TRIAL_DAYS = 3
    settings.TRIAL_TRAFFIC_GB = 2
    return settings


def test_a_trial_once_per_customer_with_its_own_traffic_on_the_panel(bot, fake_telegram, marzban, make_panel, plan,
                                                                     trial_on):
    make_panel(marzban, plans=[plan])
    user = new_user()
    customer = customer_of(bot, user)
    bot.send(user, "/help")
    assert "/trial" in fake_telegram.last_text(user.id)

    bot.send(user, "/trial")
    texts = fake_telegram.sent_texts(user.id)
    assert any("free trial of Gold has started: 3 day(s) and 2 GB" in t for t in texts)
    assert any("being prepared" in t for t in texts)
    sub = Subscription.objects.get(customer=customer)
    assert sub.is_trial and sub.order is None and Trial.objects.get(customer=customer).subscription == sub
    assert abs((sub.expires_at - timezone.now()) - timedelta(days=3)) < timedelta(minutes=1)
    account = PanelAccount.objects.get()
    assert account.subscription_id == sub.pk and account.status == "active"
    assert account.limit_bytes == 2 * GB and account.devices == plan.device_limit  # not the plan's 10 GB
    assert marzban.user(account.name)["data_limit"] == 2 * GB
    assert any(f"<code>{account.subscription_url}</code>" in t for t in fake_telegram.sent_texts(user.id))
    assert DomainEvent.objects.filter(name="trial_started", customer=customer).count() == 1

    bot.send(user, "/trial")
    assert "already had your free trial" in fake_telegram.last_text(user.id)
    assert Subscription.objects.filter(customer=customer).count() == 1 and len(marzban.users()) == 1

    bot.send(user, "/my_services")
    caption = last_photo(fake_telegram, user.id).params["caption"]
    assert "(free trial)" in caption and "0 / 2 GB" in caption
    assert f"buy:p:{plan.pk}" in callbacks(fake_telegram, user.id)
    no_failed_updates()


def test_buying_the_trial_plan_later_is_a_purchase_of_its_own(bot, fake_telegram, marzban, make_panel, plan, trial_on,
                                                              django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    user = new_user()
    customer = customer_of(bot, user, balance=500_000)
    bot.send(user, "/trial")
    trial = Subscription.objects.get(customer=customer)
    paid = buy(customer, plan, django_capture_on_commit_callbacks).subscription
    assert paid.renewed_from_id is None and paid.starts_at < trial.expires_at  # starts now, not after the trial
    accounts = {a.subscription_id: a for a in PanelAccount.objects.all()}
    assert set(accounts) == {trial.pk, paid.pk}
    assert accounts[paid.pk].limit_bytes == 10 * GB and accounts[trial.pk].limit_bytes == 2 * GB
    assert len(marzban.users()) == 2


def test_a_trial_is_refused_when_off_or_when_its_plan_is_not_on_a_panel(bot, fake_telegram, marzban, make_panel, plan,
                                                                         settings):
    make_panel(marzban, plans=[plan])
    settings.TRIAL_ENABLED = False
    settings.TRIAL_PLAN_ID = plan.pk
    user = new_user()
    customer = customer_of(bot, user)
    bot.send(user, "/help")
    assert "/trial" not in fake_telegram.last_text(user.id)
    bot.send(user, "/trial")
    assert "not offered right now" in fake_telegram.last_text(user.id)
    settings.TRIAL_ENABLED = True
    settings.TRIAL_PLAN_ID = PlanFactory(name="Nowhere").pk
    bot.send(user, "/trial")
    assert "not available right now" in fake_telegram.last_text(user.id)
    settings.TRIAL_PLAN_ID = 0
    bot.send(user, "/trial")
    assert "not available right now" in fake_telegram.last_text(user.id)
    assert not Subscription.objects.filter(customer=customer).exists() and not Trial.objects.exists()
    assert not marzban.users()
    no_failed_updates()


def test_a_trial_in_persian(bot, fake_telegram, marzban, make_panel, plan, trial_on):
    make_panel(marzban, plans=[plan])
    user = new_user("fa")
    customer_of(bot, user)
    bot.send(user, "/trial")
    assert any("اشتراک آزمایشی رایگان" in t and "۲" not in t and "2 گیگابایت" in t for t in fake_telegram.sent_texts(user.id))
    bot.send(user, "/trial")
    assert "قبلاً" in fake_telegram.last_text(user.id)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_trial_presses_make_one_trial(fake_telegram, marzban, make_panel, plan, trial_on):
    make_panel(marzban, plans=[plan])
    customer = CustomerFactory(language="en")

    def press(i):
        try:
            return shop_services.trial_start(customer_id=customer.pk)
        except shop_services.ShopError as exc:
            return exc

    results = run_threads(press, 6)
    made = [r for r in results if isinstance(r, Subscription)]
    assert len(made) == 1, results
    with translation.override(trial_on.LANGUAGE_CODE):  # the threads speak the shop's language
        already = translation.gettext("You have already had your free trial. See /plans to buy a service.")
    assert all(isinstance(r, shop_services.ShopError) and str(r) == already for r in results if r not in made), results
    assert Trial.objects.filter(customer=customer).count() == 1
    assert Subscription.objects.filter(customer=customer).count() == 1
    assert PanelAccount.objects.get().status == "active" and len(marzban.users()) == 1


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_same_traffic_confirmation_pressed_concurrently_buys_once(fake_telegram, marzban, make_panel, plan):
    make_panel(marzban, plans=[plan])
    customer = CustomerFactory.with_balance(500_000, language="en")
    sub = shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1,
                                       idempotency_key="c1").order.subscription
    assert PanelAccount.objects.get().status == "active"
    pack = TrafficPack.objects.create(name="Boost", traffic_gb=5, price_amount=30_000)
    results = run_threads(lambda i: shop_services.traffic_checkout(
        customer_id=customer.pk, subscription_id=sub.pk, pack_id=pack.pk, idempotency_key="same"), 5)
    assert all(isinstance(r, shop_services.TrafficCheckout) for r in results), results
    assert sum(r.created for r in results) == 1
    other = run_threads(lambda i: shop_services.traffic_checkout(
        customer_id=customer.pk, subscription_id=sub.pk, pack_id=pack.pk, idempotency_key=f"k{i}"), 3)
    assert all(r.created for r in other), other
    customer.refresh_from_db()
    assert customer.balance_amount == 500_000 - 100_000 - 4 * 30_000
    assert PanelAccount.objects.get().limit_bytes == (10 + 4 * 5) * GB
