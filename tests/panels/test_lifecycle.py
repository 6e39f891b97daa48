"""An account's life on a real adapter against the fake panels: made when the order is paid,
renewed on the same account, pushed on a refund, retried after faults, never made twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from panels import services
from panels.models import PanelAccount
from tests.factories import CustomerFactory
from tests.panels.conftest import GB
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _admins_read_english():
    """The admins' alerts below are asserted in English: the admin reads English (with no
    customer row an admin reads the shop's language, Persian by default)."""
    CustomerFactory(telegram_id=9001, language="en")


def buy(customer, plan, key="k1", quantity=1, capture=None):
    def run():
        return shop_services.order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=quantity,
                                            idempotency_key=key)

    if capture is None:
        return run()
    with capture(execute=True):
        return run()


@pytest.mark.parametrize("kind", ["marzban", "xui"])
def test_a_paid_order_gets_its_account_and_the_customer_gets_the_link(request, kind, make_panel, plan, rich_customer,
                                                                    fake_telegram, django_capture_on_commit_callbacks):
    fake = request.getfixturevalue(kind)
    make_panel(fake, plans=[plan])
    order = buy(rich_customer, plan, capture=django_capture_on_commit_callbacks).order
    account = PanelAccount.objects.get()
    assert account.status == "active" and account.subscription_id == order.subscription.pk
    name = account.name
    remote = fake.user(name) if kind == "marzban" else fake.client(name)
    assert remote is not None
    assert account.subscription_url and account.limit_bytes == 10 * GB
    sub = Subscription.objects.get(pk=order.subscription.pk)
    assert sub.config == account.subscription_url
    texts = fake_telegram.sent_texts(rich_customer.telegram_id)
    assert any("being prepared" in t for t in texts)
    assert any(account.subscription_url in t for t in texts)


def test_the_panel_down_during_provisioning_retries_then_alerts_and_the_payment_is_safe(
        marzban, make_panel, plan, rich_customer, fake_telegram, django_capture_on_commit_callbacks, settings):
    settings.PANEL_PROVISION_MAX_RETRIES = 2
    make_panel(marzban, plans=[plan])
    marzban.down = True
    order = buy(rich_customer, plan, capture=django_capture_on_commit_callbacks).order
    account = PanelAccount.objects.get()
    assert account.status == "failed" and account.attempts == 3 and account.last_error
    assert order.status == "paid"
    alerts = [t for t in fake_telegram.sent_texts(9001) if "could not be made" in t]
    assert len(alerts) == 1
    marzban.down = False
    with django_capture_on_commit_callbacks(execute=True):
        services.account_retry(subscription=order.subscription)
    account.refresh_from_db()
    assert account.status == "active" and marzban.user(account.name)
    assert any(account.subscription_url in t for t in fake_telegram.sent_texts(rich_customer.telegram_id))


def test_a_timeout_after_the_panel_created_the_account_makes_no_second_one(
        marzban, make_panel, plan, rich_customer, fake_telegram, django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    marzban.hold_seconds = 5  # longer than the panel's timeout (3 s): the answer never comes
    marzban.fail_next("/api/user", "timeout_after_act", method="POST")
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    assert account.status == "active" and account.attempts == 2
    assert len([u for u in marzban.users() if u["username"] == account.name]) == 1
    assert marzban.count_calls("/api/user", method="POST") == 1  # the retry found it and did not create again


def test_a_refused_create_is_not_retried_and_the_admins_are_told(xui, make_panel, plan, rich_customer, fake_telegram,
                                                                 django_capture_on_commit_callbacks):
    make_panel(xui, plans=[plan])
    xui.fail_next("addClient", "success_false", times=10, msg="Something went wrong (bad inbound)\n")
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    assert account.status == "failed" and account.attempts == 1
    assert any("could not be made" in t for t in fake_telegram.sent_texts(9001))


def test_a_renewal_extends_the_same_account(marzban, make_panel, plan, rich_customer, fake_telegram,
                                            django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    first = buy(rich_customer, plan, key="a", capture=django_capture_on_commit_callbacks).order
    account = PanelAccount.objects.get()
    marzban.set_usage(account.name, 4 * GB)
    second = buy(rich_customer, plan, key="b", capture=django_capture_on_commit_callbacks).order
    assert PanelAccount.objects.count() == 1
    renewal = Subscription.objects.get(pk=second.subscription.pk)
    assert renewal.renewed_from_id == first.subscription.pk
    user = marzban.user(account.name)
    assert abs(user["expire"] - int(renewal.expires_at.timestamp())) <= 2
    assert user["used_traffic"] == 0 and user["data_limit"] == 10 * GB  # the plan resets traffic on renewal
    assert len(marzban.users()) == 1


def test_renewing_an_account_deleted_on_the_panel_makes_it_again_and_says_so(
        marzban, make_panel, plan, rich_customer, fake_telegram, django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    buy(rich_customer, plan, key="a", capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    _delete(marzban, account.name)
    buy(rich_customer, plan, key="b", capture=django_capture_on_commit_callbacks)
    account.refresh_from_db()
    assert marzban.user(account.name) is not None and account.status == "active"
    assert any("missing" in t and account.name in t for t in fake_telegram.sent_texts(9001))
    assert any(account.subscription_url in t for t in fake_telegram.sent_texts(rich_customer.telegram_id))


def _delete(fake, name):
    import httpx

    token = httpx.post(f"{fake.url}/api/admin/token", data={"username": "admin", "password": fake.password}).json()
    httpx.delete(f"{fake.url}/api/user/{name}", headers={"Authorization": f"Bearer {token['access_token']}"})


def test_a_refund_disables_the_account_on_the_panel(marzban, make_panel, plan, rich_customer, fake_telegram,
                                                    django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    order = buy(rich_customer, plan, capture=django_capture_on_commit_callbacks).order
    with django_capture_on_commit_callbacks(execute=True):
        shop_services.order_refund(order_id=order.pk, mode="full", reason="test", by="admin:test")
    account = PanelAccount.objects.get()
    assert account.status == "disabled"
    assert marzban.user(account.name)["status"] == "disabled"


def test_expiry_disables_the_account_even_when_the_panel_does_not(marzban, make_panel, plan, rich_customer,
                                                                  django_capture_on_commit_callbacks):
    marzban.enforce = False
    make_panel(marzban, plans=[plan])
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    later = timezone.now() + timedelta(days=31)
    Subscription.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    result = services.accounts_expire(now=later)
    account.refresh_from_db()
    assert result.disabled == 1 and account.status == "disabled"
    assert marzban.user(account.name)["status"] == "disabled"
    assert services.accounts_expire(now=later).disabled == 0  # done once


def test_no_panel_with_room_asks_the_operators(marzban, make_panel, plan, rich_customer, fake_telegram,
                                               django_capture_on_commit_callbacks):
    panel = make_panel(marzban, plans=[plan], capacity=1)
    buy(rich_customer, plan, key="a", capture=django_capture_on_commit_callbacks)
    other = type(rich_customer).objects.create(telegram_id=123456789, referral_code="rOTHER01")
    shop_services.wallet_apply(customer_id=other.pk, amount=1_000_000, reason="adjustment", source="seed:other")
    buy(other, plan, key="b", capture=django_capture_on_commit_callbacks)
    assert PanelAccount.objects.filter(panel=panel).count() == 1
    assert any("No panel" in t for t in fake_telegram.sent_texts(9001))


def test_the_failure_alert_carries_a_retry_button_and_escapes_the_panels_words(
        xui, make_panel, plan, rich_customer, fake_telegram, django_capture_on_commit_callbacks):
    make_panel(xui, plans=[plan])
    xui.fail_next("addClient", "success_false", msg="<b>bad</b> inbound\n")
    order = buy(rich_customer, plan, capture=django_capture_on_commit_callbacks).order
    alert = next(c for c in fake_telegram.calls_to("sendMessage", 9001) if "could not be made" in c.text)
    assert "&lt;b&gt;bad&lt;/b&gt;" in alert.text
    assert fake_telegram.buttons(9001)[0]["callback_data"] == f"pn:retry:{order.subscription.pk}"


def test_an_operators_edit_of_the_expiry_reaches_the_panel(marzban, make_panel, plan, rich_customer,
                                                          django_capture_on_commit_callbacks):
    make_panel(marzban, plans=[plan])
    order = buy(rich_customer, plan, capture=django_capture_on_commit_callbacks).order
    new_expiry = (timezone.now() + timedelta(days=90)).replace(microsecond=0)
    Subscription.objects.filter(pk=order.subscription.pk).update(expires_at=new_expiry)
    with django_capture_on_commit_callbacks(execute=True):
        shop_services.subscription_announce_change(subscription_id=order.subscription.pk, changed=["expires_at"])
    account = PanelAccount.objects.get()
    assert account.expires_at == new_expiry
    assert marzban.user(account.name)["expire"] == int(new_expiry.timestamp())


def test_an_expired_account_is_deleted_after_the_days_set(marzban, make_panel, plan, rich_customer, settings,
                                                          django_capture_on_commit_callbacks):
    settings.PANEL_DELETE_AFTER_DAYS = 7
    make_panel(marzban, plans=[plan])
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    services.accounts_expire(now=account.expires_at + timedelta(minutes=1))
    assert marzban.user(account.name) is not None  # disabled, kept for a week
    result = services.accounts_expire(now=account.expires_at + timedelta(days=8))
    account.refresh_from_db()
    assert result.deleted == 1 and account.status == "deleted" and marzban.user(account.name) is None
