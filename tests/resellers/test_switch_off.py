"""A reseller switches an account off and back on, on a real adapter against the fake panels:
the panel's client follows, a renewal keeps it off, a plan not on panels asks the admins to do
it by hand (the expiry job leaves it off), and a chain with no panel account cannot be switched."""

import pytest

from panels import services as panel_services
from panels.models import PanelAccount
from resellers import services
from tests.factories import CustomerFactory, PlanFactory
from tests.panels.conftest import make_panel, marzban, xui  # noqa: F401 - the panels' fixtures
from tests.resellers.core_support import buy, make_reseller
from vpnbot.shop.provisioning import ProvisioningUnavailable, get_provisioner

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.DEFAULT_CASHBACK_PERCENT = 0
    CustomerFactory(telegram_id=9001, language="en")  # the admin reads English


@pytest.fixture
def plan():
    return PlanFactory(name="Gold", duration_days=30, traffic_gb=10, device_limit=2, price_amount=100_000)


def remote_enabled(fake, name) -> bool:
    if hasattr(fake, "client"):
        return fake.client(name)["enable"]
    return fake.user(name)["status"] == "active"


def bought_on_panel(request, kind, plan, capture):
    fake = request.getfixturevalue(kind)
    request.getfixturevalue("make_panel")(fake, plans=[plan])
    reseller = make_reseller(discount_bp=2000, balance_amount=1_000_000)
    with capture(execute=True):
        account = buy(reseller, plan, 1, labels="Client").accounts[0]
    panel_account = PanelAccount.objects.get(subscription=account.first_subscription)
    assert panel_account.status == "active" and remote_enabled(fake, panel_account.name)
    return fake, reseller, account, panel_account


@pytest.mark.parametrize("kind", ["marzban", "xui"])
def test_switched_off_and_on_through_the_reseller_service(request, kind, plan, fake_telegram,
                                                          django_capture_on_commit_callbacks):
    fake, reseller, account, panel_account = bought_on_panel(request, kind, plan, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        off = services.account_set_enabled(reseller_id=reseller.pk, account_id=account.pk, enabled=False)
    assert off.disabled_at is not None
    panel_account.refresh_from_db()
    assert panel_account.suspended and panel_account.status == "disabled"
    assert not remote_enabled(fake, panel_account.name)
    assert services.account_usage(reseller_id=reseller.pk, account_id=account.pk).status == "disabled"
    with django_capture_on_commit_callbacks(execute=True):
        services.account_set_enabled(reseller_id=reseller.pk, account_id=account.pk, enabled=False)  # again: no error
    with django_capture_on_commit_callbacks(execute=True):
        on = services.account_set_enabled(reseller_id=reseller.pk, account_id=account.pk, enabled=True)
    assert on.disabled_at is None
    panel_account.refresh_from_db()
    assert not panel_account.suspended and panel_account.status == "active"
    assert remote_enabled(fake, panel_account.name)


@pytest.mark.parametrize("kind", ["marzban", "xui"])
def test_a_renewal_keeps_a_switched_off_account_off(request, kind, plan, fake_telegram,
                                                    django_capture_on_commit_callbacks):
    fake, reseller, account, panel_account = bought_on_panel(request, kind, plan, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        get_provisioner().set_enabled(account.first_subscription, False)
    assert not remote_enabled(fake, panel_account.name)
    with django_capture_on_commit_callbacks(execute=True):
        renewed, done = services.reseller_renew(reseller_id=reseller.pk, account_id=account.pk, idempotency_key="r1")
    assert done
    panel_account.refresh_from_db()
    assert panel_account.suspended and panel_account.status == "disabled"
    assert panel_account.expires_at == renewed.subscription.expires_at  # renewed on the panel, still off
    assert not remote_enabled(fake, panel_account.name)
    spec = panel_services.spec_for(panel_account)
    assert spec.enabled is False
    # switched on through the latest subscription of the chain: the same account comes back
    with django_capture_on_commit_callbacks(execute=True):
        get_provisioner().set_enabled(renewed.subscription, True)
    panel_account.refresh_from_db()
    assert panel_account.status == "active" and remote_enabled(fake, panel_account.name)
    assert PanelAccount.objects.count() == 1


def test_the_expiry_job_leaves_a_switched_off_account_alone(request, plan, fake_telegram,
                                                             django_capture_on_commit_callbacks):
    fake = request.getfixturevalue("marzban")
    request.getfixturevalue("make_panel")(fake, plans=[plan])
    reseller = make_reseller(balance_amount=1_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        account = buy(reseller, plan, 1).accounts[0]
    with django_capture_on_commit_callbacks(execute=True):
        panel_services.account_set_suspended(subscription=account.first_subscription, suspended=True)
    assert panel_services.accounts_expire().disabled == 0
    panel_account = PanelAccount.objects.get()
    assert panel_account.status == "disabled" and fake.user(panel_account.name)["status"] == "disabled"


def test_a_chain_with_no_panel_account_cannot_be_switched(request, plan, fake_telegram,
                                                          django_capture_on_commit_callbacks):
    fake, panel_for = request.getfixturevalue("marzban"), request.getfixturevalue("make_panel")
    reseller = make_reseller(balance_amount=1_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        account = buy(reseller, plan, 1).accounts[0]  # sold by hand: no panel had the plan yet
    panel_for(fake, plans=[plan])  # now the plan is on a panel, but this chain has no account there
    with pytest.raises(panel_services.PanelsError):
        panel_services.account_set_suspended(subscription=account.first_subscription, suspended=True)
    with pytest.raises(ProvisioningUnavailable):
        get_provisioner().set_enabled(account.first_subscription, False)
    with pytest.raises(services.ResellerError):
        services.account_set_enabled(reseller_id=reseller.pk, account_id=account.pk, enabled=False)
    account.refresh_from_db()
    assert account.disabled_at is None


def test_a_plan_not_on_panels_asks_the_admins_to_do_it_by_hand(plan, fake_telegram, settings,
                                                                django_capture_on_commit_callbacks):
    settings.ADMIN_TELEGRAM_IDS = [9001]
    reseller = make_reseller(balance_amount=1_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        account = buy(reseller, plan, 1, labels="Client").accounts[0]
    with django_capture_on_commit_callbacks(execute=True):
        off = services.account_set_enabled(reseller_id=reseller.pk, account_id=account.pk, enabled=False)
    assert off.disabled_at is not None and not PanelAccount.objects.exists()
    from notifications.services import notification_process

    notification_process()
    texts = fake_telegram.sent_texts(9001)
    assert any("Switch OFF" in t and f"#{account.first_subscription_id}" in t for t in texts), texts
