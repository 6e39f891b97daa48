"""The panels in the admin against the fake panels: a panel added with a password (stored
encrypted, never shown again), the connection test and the sync in English and Persian, the
accounts with their filters, retry and repair; the plan form's panels; the subscription's
account and its retry."""

import html

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages

from panels import crypto, services
from panels.models import Panel, PanelAccount
from panels.provisioner import PanelProvisioner
from tests.factories import PlanFactory, SubscriptionFactory
from tests.panels.conftest import PASSWORD
from tests.panels.test_lifecycle import _delete, buy
from vpnbot.shop.models import Plan
from vpnbot.shop.provisioning import ProvisioningUnavailable

pytestmark = pytest.mark.django_db
PANELS = "/admin/panels/panel/"
ACCOUNTS = "/admin/panels/panelaccount/"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("panel-admin", "pa@example.com", "pw"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def form_for(fake, **extra) -> dict:
    data = {"name": "main", "kind": "marzban", "status": "active", "capacity": "100", "base_url": fake.url,
            "public_base_url": "https://sub.example.com", "verify_tls": "on", "timeout_seconds": "5",
            "username": "admin", "password": PASSWORD, "token": "", "inbounds": '["VLESS TCP"]'}
    return {**data, **extra}


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_panel_added_with_a_password_keeps_it_encrypted_and_never_shows_it(admin_client, marzban, plan):
    response = admin_client.post(f"{PANELS}add/", form_for(marzban, plans=[plan.pk]))
    assert response.status_code == 302, response.content.decode()[:3000]
    panel = Panel.objects.get()
    assert panel.password_encrypted and PASSWORD not in panel.password_encrypted
    assert crypto.decrypt(panel.password_encrypted) == PASSWORD
    assert list(panel.plans.all()) == [plan] and panel.inbounds == ["VLESS TCP"]

    page = admin_client.get(f"{PANELS}{panel.pk}/change/")
    content = page.content.decode()
    assert page.status_code == 200 and PASSWORD not in content and panel.password_encrypted not in content
    assert "password: stored; API token: not set" in html.unescape(content)
    listing = admin_client.get(PANELS).content.decode()
    assert "main" in listing and PASSWORD not in listing and panel.password_encrypted not in listing

    # saved again without typing it: kept; the capacity changes
    kept = admin_client.post(f"{PANELS}{panel.pk}/change/", form_for(marzban, password="", capacity="5",
                                                                     plans=[plan.pk]))
    assert kept.status_code == 302
    panel.refresh_from_db()
    assert panel.capacity == 5 and crypto.decrypt(panel.password_encrypted) == PASSWORD

    # a token instead, the password removed
    swapped = admin_client.post(f"{PANELS}{panel.pk}/change/", form_for(marzban, password="", token="a-jwt",
                                                                        clear_password="on"))
    assert swapped.status_code == 302
    panel.refresh_from_db()
    assert panel.password_encrypted == "" and crypto.decrypt(panel.token_encrypted) == "a-jwt"
    assert list(panel.plans.all()) == []


@pytest.mark.parametrize(("change", "field"), [
    ({"password": "", "token": ""}, "password"),
    ({"username": "", "password": ""}, "username"),
    ({"username": ""}, "username"),
    ({"inbounds": '"VLESS TCP"'}, "inbounds"),
    ({"inbounds": "[1]"}, "inbounds"),
    ({"kind": "3x-ui", "inbounds": "[]"}, "inbounds"),
    ({"base_url": ""}, "base_url"),
    ({"capacity": "-1"}, "capacity"),
    ({"timeout_seconds": "0"}, "timeout_seconds"),
])
def test_a_panel_form_with_bad_input_saves_nothing(admin_client, marzban, change, field):
    response = admin_client.post(f"{PANELS}add/", form_for(marzban, **change))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors, response.context["adminform"].form.errors
    assert PASSWORD not in response.content.decode()
    assert not Panel.objects.exists()


def test_the_secret_cannot_be_typed_and_removed_at_once(admin_client, make_panel, marzban):
    panel = make_panel(marzban)
    response = admin_client.post(f"{PANELS}{panel.pk}/change/", form_for(marzban, password="new-one",
                                                                         clear_password="on"))
    assert response.status_code == 200 and "clear_password" in response.context["adminform"].form.errors
    panel.refresh_from_db()
    assert crypto.decrypt(panel.password_encrypted) == PASSWORD


@pytest.mark.parametrize("language", ["en", "fa"])
def test_test_connection_shows_the_version_and_inbounds(admin_client, make_panel, marzban, xui, language):
    mz = make_panel(marzban, name="mz")
    ui = make_panel(xui, name="ui")
    response = admin_client.post(PANELS, {"action": "test_connection", "_selected_action": [mz.pk, ui.pk]},
                                 HTTP_ACCEPT_LANGUAGE=language, follow=True)
    assert response.status_code == 200
    shown = texts(response)
    assert len(shown) == 2
    mz_text = next(t for t in shown if "mz" in t)
    ui_text = next(t for t in shown if "ui" in t and "mz" not in t)
    assert "0.8.4" in mz_text and "VLESS TCP" in mz_text
    assert "2.x" in ui_text and "main" in ui_text and f"{xui.inbound_id}" in ui_text
    if language == "en":
        assert "answered: version" in mz_text
    else:
        assert "پاسخ داد" in mz_text and "answered" not in mz_text
    mz.refresh_from_db()
    assert mz.version == "0.8.4" and mz.checked_at


@pytest.mark.parametrize("language", ["en", "fa"])
def test_test_connection_of_a_panel_that_is_down_shows_why_without_the_password(admin_client, make_panel, marzban,
                                                                                 language):
    panel = make_panel(marzban)
    marzban.down = True
    response = admin_client.post(PANELS, {"action": "test_connection", "_selected_action": [panel.pk]},
                                 HTTP_ACCEPT_LANGUAGE=language, follow=True)
    [shown] = texts(response)
    assert PASSWORD not in response.content.decode() and PASSWORD not in shown
    if language == "en":
        assert "could not be reached" in shown
    else:
        assert "دسترسی" in shown and "could not be reached" not in shown
    panel.refresh_from_db()
    assert panel.last_error
    listing = admin_client.get(PANELS, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert html.escape(panel.last_error[:40]) in listing  # the list's short last error


def test_sync_now_asks_first_then_reports(admin_client, make_panel, marzban, plan, rich_customer, fake_telegram,
                                          django_capture_on_commit_callbacks):
    panel = make_panel(marzban, plans=[plan])
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    marzban.set_usage(account.name, 2 * 1024**3)
    asked = admin_client.post(PANELS, {"action": "sync_now", "_selected_action": [panel.pk]})
    assert asked.status_code == 200 and b'name="confirm"' in asked.content
    account.refresh_from_db()
    assert account.used_bytes == 0
    done = admin_client.post(PANELS, {"action": "sync_now", "_selected_action": [panel.pk], "confirm": "yes"},
                             follow=True)
    assert any("1 accounts seen" in t for t in texts(done))
    account.refresh_from_db()
    assert account.used_bytes == 2 * 1024**3
    listing = admin_client.get(ACCOUNTS).content.decode()
    assert "2 / 10 GB" in listing


def test_a_panel_holding_accounts_is_not_deleted(admin_client, make_panel, marzban, plan, rich_customer,
                                                 fake_telegram, django_capture_on_commit_callbacks):
    panel = make_panel(marzban, plans=[plan])
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    admin_client.post(f"{PANELS}{panel.pk}/delete/", {"post": "yes"})
    admin_client.post(PANELS, {"action": "delete_selected", "_selected_action": [panel.pk], "post": "yes"})
    assert Panel.objects.filter(pk=panel.pk).exists()
    empty = services.panel_create(name="empty", kind="manual")
    assert admin_client.post(f"{PANELS}{empty.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Panel.objects.filter(pk=empty.pk).exists()


def test_accounts_filters_search_retry_and_repair(admin_client, make_panel, marzban, plan, rich_customer,
                                                  fake_telegram, django_capture_on_commit_callbacks, settings):
    settings.PANEL_PROVISION_MAX_RETRIES = 0
    panel = make_panel(marzban, plans=[plan])
    marzban.down = True
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    assert account.status == "failed"
    for query in ("", f"?panel__id__exact={panel.pk}", "?status__exact=failed", "?drift=1", "?drift=0",
                  f"?q={rich_customer.telegram_id}", f"?q={account.name}"):
        page = admin_client.get(f"{ACCOUNTS}{query}")
        assert page.status_code == 200, query
        assert (account.name in page.content.decode()) == (query != "?drift=1"), query
    assert admin_client.get(f"{ACCOUNTS}{account.pk}/change/").status_code == 200

    # repair is for accounts in step with a panel; a failed one is retried
    admin_client.post(ACCOUNTS, {"action": "repair", "_selected_action": [account.pk], "confirm": "yes"})
    marzban.down = False
    asked = admin_client.post(ACCOUNTS, {"action": "retry_provisioning", "_selected_action": [account.pk]})
    assert asked.status_code == 200 and b'name="confirm"' in asked.content
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(ACCOUNTS, {"action": "retry_provisioning", "_selected_action": [account.pk],
                                            "confirm": "yes"}, follow=True)
    assert any("started again" in t for t in texts(done))
    account.refresh_from_db()
    assert account.status == "active" and marzban.user(account.name)

    # the panel lost it: the sync finds the difference, repair makes it again
    _delete(marzban, account.name)
    services.panel_sync(panel_id=panel.pk)
    assert account.name in admin_client.get(f"{ACCOUNTS}?drift=1").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        repaired = admin_client.post(ACCOUNTS, {"action": "repair", "_selected_action": [account.pk],
                                                "confirm": "yes"}, follow=True)
    assert any("being pushed" in t for t in texts(repaired))
    account.refresh_from_db()
    assert account.drift == {} and marzban.user(account.name)


def test_an_operator_without_the_permission_sees_no_actions(client, make_panel, marzban):
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("reader", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_panel", "view_panelaccount"]))
    client.force_login(user)
    panel = make_panel(marzban)
    page = client.get(PANELS)
    assert page.status_code == 200 and b"test_connection" not in page.content
    client.post(PANELS, {"action": "test_connection", "_selected_action": [panel.pk]})
    panel.refresh_from_db()
    assert panel.checked_at is None
    assert b"retry_provisioning" not in client.get(ACCOUNTS).content


# --- the shop's side: plans and subscriptions -------------------------------------------------------------

PLAN_FORM = {"name": "Silver", "description": "", "duration_days": "30", "traffic_gb": "20", "device_limit": "1",
             "price_amount": "50000", "is_active": "on", "sort_order": "0", "traffic_on_renewal": "reset"}


def test_the_plan_form_sells_a_plan_on_the_panels_chosen(admin_client, make_panel, marzban, xui):
    assert b'name="panels"' not in admin_client.get("/admin/shop/plan/add/").content  # no panels: no field
    first, second = make_panel(marzban, name="first"), make_panel(xui, name="second")
    page = admin_client.get("/admin/shop/plan/add/").content.decode()
    assert 'name="panels"' in page and "first (Marzban, active)" in html.unescape(page)
    response = admin_client.post("/admin/shop/plan/add/", {**PLAN_FORM, "panels": [first.pk, second.pk]})
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = Plan.objects.get(name="Silver")
    assert set(plan.panels.values_list("pk", flat=True)) == {first.pk, second.pk}
    page = admin_client.get(f"/admin/shop/plan/{plan.pk}/change/").content.decode()
    assert page.count('checked') >= 2
    admin_client.post(f"/admin/shop/plan/{plan.pk}/change/", {**PLAN_FORM, "panels": [second.pk]})
    assert list(plan.panels.values_list("pk", flat=True)) == [second.pk]
    refused = admin_client.post("/admin/shop/plan/add/", {**PLAN_FORM, "name": "Ghost", "panels": [99999]})
    assert refused.status_code == 200 and "panels" in refused.context["adminform"].form.errors
    assert not Plan.objects.filter(name="Ghost").exists()


def test_a_refusal_of_the_provisioner_shows_on_the_field_and_saves_nothing(admin_client, make_panel, marzban,
                                                                          monkeypatch):
    panel = make_panel(marzban)

    def refuse(self, plan, panel_ids):
        raise ProvisioningUnavailable("That panel is being moved: try again later.")

    monkeypatch.setattr(PanelProvisioner, "set_plan_targets", refuse)
    response = admin_client.post("/admin/shop/plan/add/", {**PLAN_FORM, "panels": [panel.pk]})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["panels"] == ["That panel is being moved: try again later."]
    assert not Plan.objects.filter(name="Silver").exists()


def test_the_subscription_shows_its_account_and_retries_it(admin_client, make_panel, marzban, plan, rich_customer,
                                                          fake_telegram, django_capture_on_commit_callbacks, settings):
    settings.PANEL_PROVISION_MAX_RETRIES = 0
    make_panel(marzban, plans=[plan])
    marzban.down = True
    order = buy(rich_customer, plan, capture=django_capture_on_commit_callbacks).order
    subscription = order.subscription
    account = PanelAccount.objects.get()
    page = admin_client.get(f"/admin/shop/subscription/{subscription.pk}/change/").content.decode()
    assert "provisioning failed" in page and account.name in page and "0 / 10 GB" in page
    persian = admin_client.get(f"/admin/shop/subscription/{subscription.pk}/change/", HTTP_ACCEPT_LANGUAGE="fa")
    assert "ساخت اکانت ناموفق" in persian.content.decode()

    marzban.down = False
    asked = admin_client.post("/admin/shop/subscription/", {"action": "retry_provisioning",
                                                            "_selected_action": [subscription.pk]})
    assert asked.status_code == 200 and b'name="confirm"' in asked.content
    by_hand = SubscriptionFactory(customer=rich_customer, plan=PlanFactory())
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post("/admin/shop/subscription/", {
            "action": "retry_provisioning", "_selected_action": [subscription.pk, by_hand.pk], "confirm": "yes"},
            follow=True)
    shown = texts(done)
    assert any(f"#{subscription.pk}" in t and "started again" in t for t in shown), shown
    assert any(f"#{by_hand.pk}" in t and "no account" in t for t in shown), shown
    account.refresh_from_db()
    assert account.status == "active"
    page = admin_client.get(f"/admin/shop/subscription/{subscription.pk}/change/").content.decode()
    assert account.subscription_url in html.unescape(page)
    by_hand_page = admin_client.get(f"/admin/shop/subscription/{by_hand.pk}/change/").content.decode()
    assert "delivered by hand" in by_hand_page
