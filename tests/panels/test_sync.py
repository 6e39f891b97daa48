"""The usage sync against the fake panels: usage stored from the paged list calls, drift found
and repaired, traffic warnings once per threshold and period; and the whole journey through
the webhook. Plus 100 purchases at once on a database server: 100 accounts, no duplicate."""

from datetime import timedelta

import pytest

from notifications.models import Notification
from panels import services
from panels.models import PanelAccount
from tests.conftest import TelegramUser, run_threads
from tests.factories import CustomerFactory
from tests.panels.conftest import GB
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Customer


def buy(customer, plan, capture, key="k"):
    with capture(execute=True):
        return shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1,
                                            idempotency_key=f"{key}:{customer.pk}").order


@pytest.fixture
def three_accounts(marzban, make_panel, plan, django_capture_on_commit_callbacks, fake_telegram):
    panel = make_panel(marzban, plans=[plan])
    customers = [CustomerFactory.with_balance(1_000_000, language="en") for _ in range(3)]
    for customer in customers:
        buy(customer, plan, django_capture_on_commit_callbacks)
    return panel, list(PanelAccount.objects.order_by("pk"))


@pytest.mark.django_db
def test_sync_stores_usage_from_the_list_calls_alone(three_accounts, marzban):
    panel, accounts = three_accounts
    marzban.add_user("someone_elses", status="active")  # not ours: left alone
    for n, account in enumerate(accounts):
        marzban.set_usage(account.name, (n + 1) * GB)
    marzban.calls.clear()
    result = services.panel_sync(panel_id=panel.pk)
    assert (result.seen, result.updated, result.drifted, result.error) == (4, 3, 0, "")
    assert [a.used_bytes for a in PanelAccount.objects.order_by("pk")] == [GB, 2 * GB, 3 * GB]
    user_calls = [c for c in marzban.calls if "/api/user" in c.path]
    assert all(c.path == "/api/users" for c in user_calls) and len(user_calls) == 1  # one page; never per account


@pytest.mark.django_db
def test_drift_is_recorded_and_repair_pushes_the_shops_truth(three_accounts, marzban, django_capture_on_commit_callbacks):
    panel, (changed, missing, fine) = three_accounts
    _admin_put(marzban, changed.name, {"data_limit": 99 * GB})
    _admin_delete(marzban, missing.name)
    result = services.panel_sync(panel_id=panel.pk)
    assert result.drifted == 2 and result.missing == 1
    changed.refresh_from_db()
    missing.refresh_from_db()
    assert changed.drift["limit_bytes"] == {"panel": 99 * GB, "shop": 10 * GB}
    assert missing.drift == {"missing": True}
    with django_capture_on_commit_callbacks(execute=True):
        services.account_repair(account_id=changed.pk)
        services.account_repair(account_id=missing.pk)
    assert marzban.user(changed.name)["data_limit"] == 10 * GB
    assert marzban.user(missing.name) is not None
    assert services.panel_sync(panel_id=panel.pk).drifted == 0
    assert not PanelAccount.objects.exclude(drift={}).exists()


@pytest.mark.django_db
def test_a_panel_down_during_the_sync_changes_nothing(three_accounts, marzban):
    panel, accounts = three_accounts
    marzban.down = True
    result = services.panel_sync(panel_id=panel.pk)
    assert result.error and result.updated == 0
    assert not PanelAccount.objects.exclude(drift={}).exists()  # nobody is "missing" because the panel was away


@pytest.mark.django_db
def test_traffic_warnings_fire_once_per_threshold_and_period(three_accounts, marzban, plan, fake_telegram,
                                                             django_capture_on_commit_callbacks):
    panel, (account, *_rest) = three_accounts
    customer = account.subscription.customer

    def warnings():
        return list(Notification.objects.filter(customer=customer, type="traffic_warning")
                    .order_by("pk").values_list("context__percent", flat=True))

    marzban.set_usage(account.name, int(8.5 * GB))
    with django_capture_on_commit_callbacks(execute=True):
        services.panel_sync(panel_id=panel.pk)
        services.panel_sync(panel_id=panel.pk)
    assert warnings() == [80]
    marzban.set_usage(account.name, int(9.7 * GB))
    with django_capture_on_commit_callbacks(execute=True):
        services.panel_sync(panel_id=panel.pk)
    assert warnings() == [80, 95]
    buy(customer, plan, django_capture_on_commit_callbacks, key="renewal")  # a renewal resets traffic: a new period
    marzban.set_usage(account.name, int(8.2 * GB))
    with django_capture_on_commit_callbacks(execute=True):
        services.panel_sync(panel_id=panel.pk)
    assert warnings() == [80, 95, 80]


def _admin_token(fake) -> str:
    import httpx

    return httpx.post(f"{fake.url}/api/admin/token", data={"username": "admin", "password": fake.password}).json()[
        "access_token"]


def _admin_put(fake, name, body):
    import httpx

    httpx.put(f"{fake.url}/api/user/{name}", json=body, headers={"Authorization": f"Bearer {_admin_token(fake)}"})


def _admin_delete(fake, name):
    import httpx

    httpx.delete(f"{fake.url}/api/user/{name}", headers={"Authorization": f"Bearer {_admin_token(fake)}"})


@pytest.mark.django_db
def test_the_journey_through_the_webhook(bot, fake_telegram, marzban, make_panel, plan, settings):
    """Buy in the bot → account on the panel → the link → usage sync → one 80 % warning →
    expiry → disabled on the panel."""
    marzban.enforce = False
    make_panel(marzban, plans=[plan])
    user = TelegramUser(4_400_001, language_code="en")
    bot.send(user, "/start")
    customer = Customer.objects.get(telegram_id=user.id)
    shop_services.wallet_apply(customer_id=customer.pk, amount=500_000, reason="adjustment", source="seed:journey")
    bot.press(user, f"buy:q:{plan.pk}:1")
    pay = next(b for b in fake_telegram.buttons(user.id) if b["callback_data"].startswith("buy:ok:"))
    bot.press(user, pay["callback_data"])
    account = PanelAccount.objects.get()
    assert account.status == "active" and marzban.user(account.name)["status"] == "active"
    assert any(account.subscription_url in t for t in fake_telegram.sent_texts(user.id))
    bot.send(user, "/my_services")  # the link again, with its QR code
    photo = fake_telegram.calls_to("sendPhoto", user.id)[-1]
    assert account.subscription_url in photo.text and photo.files["photo"][1].startswith(b"\x89PNG")
    marzban.set_usage(account.name, int(8.1 * GB))
    services.panels_sync_all()
    services.panels_sync_all()
    from notifications.services import notification_process

    notification_process()
    warned = [t for t in fake_telegram.sent_texts(user.id) if "80%" in t]
    assert len(warned) == 1
    services.accounts_expire(now=account.expires_at + timedelta(seconds=1))  # the minute after its time is over
    account.refresh_from_db()
    assert account.status == "disabled" and marzban.user(account.name)["status"] == "disabled"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_hundred_purchases_at_once_make_a_hundred_accounts(marzban, make_panel, plan, fake_telegram):
    """Two panels of 50 each: capacity holds under concurrency, and no purchase gets two accounts."""
    first = make_panel(marzban, name="first", plans=[plan], capacity=50)
    second = make_panel(marzban, name="second", plans=[plan], capacity=50)
    customers = [CustomerFactory.with_balance(500_000) for _ in range(100)]

    def purchase(i):  # 50 threads at once (a database server's connections are limited), two purchases each
        for customer in customers[i * 2:i * 2 + 2]:
            shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1,
                                         idempotency_key=f"rush:{customer.pk}")

    results = run_threads(purchase, 50)
    assert not [r for r in results if isinstance(r, Exception)], [r for r in results if isinstance(r, Exception)][:3]
    assert PanelAccount.objects.filter(status="active").count() == 100
    names = [u["username"] for u in marzban.users()]
    assert len(names) == 100 and len(set(names)) == 100
    assert PanelAccount.objects.filter(panel=first).count() == 50
    assert PanelAccount.objects.filter(panel=second).count() == 50


@pytest.mark.django_db
def test_repair_is_refused_for_an_account_not_made(three_accounts):
    _panel, (account, *_rest) = three_accounts
    PanelAccount.objects.filter(pk=account.pk).update(status="failed")
    with pytest.raises(services.PanelsError):
        services.account_repair(account_id=account.pk)


@pytest.mark.django_db
def test_a_panel_holding_accounts_keeps_its_kind_and_bad_inbounds_are_refused(three_accounts):
    panel, _accounts = three_accounts
    with pytest.raises(services.PanelsError):
        services.panel_update(panel_id=panel.pk, kind="pasarguard")
    panel.refresh_from_db()
    assert panel.kind == "marzban"
    with pytest.raises(services.PanelsError):
        services.panel_create(name="x", kind="3x-ui", base_url="https://x.example.com/p", username="a",
                              password="b", inbounds=["tag-not-an-id"])


@pytest.mark.django_db
def test_a_secret_the_key_cannot_read_fails_provisioning_cleanly(marzban, make_panel, plan, rich_customer, settings,
                                                                 fake_telegram, django_capture_on_commit_callbacks):
    from cryptography.fernet import Fernet

    make_panel(marzban, plans=[plan])
    settings.PANEL_ENCRYPTION_KEY = Fernet.generate_key().decode()  # the key changed since the panel was saved
    buy(rich_customer, plan, django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    assert account.status == "failed" and "set it again" in account.last_error
