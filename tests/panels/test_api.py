"""The panels' staff API against the fake panels: create, read, change, delete and test a panel
of each kind (the password and the token never in an answer), bad input refused by field with
nothing saved, a sync now, the accounts with their filters, repair and retry."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from panels import crypto, services
from panels.models import Panel, PanelAccount
from tests.factories import CustomerFactory
from tests.fakes.marzban import FakeMarzban
from tests.fakes.xui import FakeXui
from tests.panels.conftest import PASSWORD
from tests.panels.test_lifecycle import _delete, buy

pytestmark = pytest.mark.django_db
XUI_TOKEN = "xui-api-token-0123456789abcdef"


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("panel-op", "op@example.com", "pw"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def pasarguard():
    fake = FakeMarzban(flavor="pasarguard", password=PASSWORD, subscription_prefix="https://sub.example.com")
    fake.add_inbound("vless", "VLESS TCP", port=443)
    fake.group_id = fake.add_group("main", ["VLESS TCP"])
    fake.api_key = fake.add_api_key()
    yield fake
    fake.stop()


@pytest.fixture
def xui3():
    fake = FakeXui(version="3.6.0", password=PASSWORD, api_token=XUI_TOKEN)
    fake.inbound_id = fake.add_inbound("vless", port=8443, remark="three")
    yield fake
    fake.stop()


def body_for(kind, fixture) -> tuple[dict, str]:
    """A create request for a panel of this kind on its fake (fixture(name) gives the fake), and
    the secret it carries."""
    if kind == "marzban":
        fake = fixture("marzban")
        return {"kind": "marzban", "name": "mz", "base_url": fake.url, "public_base_url": "https://sub.example.com",
                "username": "admin", "password": PASSWORD, "inbounds": ["VLESS TCP"], "capacity": 100}, PASSWORD
    if kind == "pasarguard":
        fake = fixture("pasarguard")
        return {"kind": "pasarguard", "name": "pg", "base_url": fake.url, "token": fake.api_key,
                "inbounds": [fake.group_id], "capacity": 50}, fake.api_key
    if kind == "3x-ui":
        fake = fixture("xui")
        return {"kind": "3x-ui", "name": "xui", "base_url": fake.url, "public_base_url": fake.sub_url,
                "username": "admin", "password": PASSWORD, "inbounds": [fake.inbound_id], "verify_tls": False,
                "timeout_seconds": 5}, PASSWORD
    if kind == "3x-ui-token":
        fake = fixture("xui3")
        return {"kind": "3x-ui", "name": "xui3", "base_url": fake.url, "public_base_url": fake.sub_url,
                "token": XUI_TOKEN, "inbounds": [str(fake.inbound_id)]}, XUI_TOKEN
    return {"kind": "manual", "name": "by-hand"}, ""


KINDS = ["marzban", "pasarguard", "3x-ui", "3x-ui-token", "manual"]


def no_secret(response, *secrets):
    text = response.content.decode()
    for secret in secrets:
        if secret:
            assert secret not in text
    assert '"password"' not in text and '"token"' not in text


@pytest.mark.parametrize("kind", KINDS)
def test_a_panel_of_each_kind_is_made_read_changed_tested_and_deleted_without_showing_its_secret(api, request, kind):
    body, secret = body_for(kind, request.getfixturevalue)
    created = api.post("/api/v1/panels/", body, format="json")
    assert created.status_code == 201, created.content
    no_secret(created, secret, PASSWORD)
    data = created.json()
    panel = Panel.objects.get(pk=data["id"])
    assert data["kind"] == body["kind"] and data["accounts"] == 0
    assert data["has_password"] == ("password" in body) and data["has_token"] == ("token" in body)
    if kind == "3x-ui-token":
        assert data["inbounds"] == [request.getfixturevalue("xui3").inbound_id]  # digits read as the id
    stored = panel.password_encrypted + panel.token_encrypted
    assert not secret or (secret not in stored and secret in (crypto.decrypt(panel.password_encrypted),
                                                              crypto.decrypt(panel.token_encrypted)))

    listed = api.get("/api/v1/panels/")
    assert listed.status_code == 200 and [p["name"] for p in listed.json()["results"]] == [body["name"]]
    no_secret(listed, secret, PASSWORD)
    one = api.get(f"/api/v1/panels/{panel.pk}/")
    assert one.status_code == 200 and one.json()["name"] == body["name"]
    no_secret(one, secret, PASSWORD)

    changed = api.patch(f"/api/v1/panels/{panel.pk}/", {"capacity": 7, "status": "draining"}, format="json")
    assert changed.status_code == 200, changed.content
    no_secret(changed, secret, PASSWORD)
    panel.refresh_from_db()
    assert panel.capacity == 7 and panel.status == "draining"
    assert panel.password_encrypted + panel.token_encrypted == stored  # a secret left out is kept

    tested = api.post(f"/api/v1/panels/{panel.pk}/test/")
    no_secret(tested, secret, PASSWORD)
    panel.refresh_from_db()
    if kind == "manual":
        assert tested.status_code == 400 and "manual" in tested.json()["detail"]
    else:
        assert tested.status_code == 200, tested.content
        info = tested.json()
        assert info["version"] and info["version"] == panel.version and panel.checked_at and not panel.last_error
        assert info["inbounds"], info
        expected = {"marzban": "VLESS TCP", "pasarguard": request.getfixturevalue("pasarguard").group_id
                    if kind == "pasarguard" else None}.get(kind)
        if expected is not None:
            assert expected in [i["id"] for i in info["inbounds"]]

    assert api.delete(f"/api/v1/panels/{panel.pk}/").status_code == 204
    assert not Panel.objects.exists()


def test_put_changes_everything_and_an_empty_secret_removes_it(api, marzban):
    body, _secret = body_for("marzban", lambda name: marzban)
    panel_id = api.post("/api/v1/panels/", body, format="json").json()["id"]
    put = api.put(f"/api/v1/panels/{panel_id}/", {**{k: v for k, v in body.items() if k != "password"},
                                                   "name": "renamed", "token": "a-marzban-jwt"}, format="json")
    assert put.status_code == 200, put.content
    assert put.json()["name"] == "renamed" and put.json()["has_password"] and put.json()["has_token"]
    removed = api.patch(f"/api/v1/panels/{panel_id}/", {"password": ""}, format="json")
    assert removed.status_code == 200 and not removed.json()["has_password"] and removed.json()["has_token"]
    assert Panel.objects.get().password_encrypted == ""
    # with neither left the panel cannot log in: refused, nothing changed
    refused = api.patch(f"/api/v1/panels/{panel_id}/", {"token": ""}, format="json")
    assert refused.status_code == 400 and "token" in refused.json()
    assert Panel.objects.get().token_encrypted


BAD = [
    ("kind", {"kind": "wireguard"}),
    ("base_url", {"base_url": "not a url"}),
    ("base_url", {"base_url": ""}),
    ("inbounds", {"inbounds": "VLESS TCP"}),
    ("inbounds", {"inbounds": {"vless": 1}}),
    ("inbounds", {"inbounds": [True]}),
    ("capacity", {"capacity": -1}),
    ("capacity", {"capacity": 10**15}),
    ("timeout_seconds", {"timeout_seconds": 0}),
    ("timeout_seconds", {"timeout_seconds": 600}),
    ("status", {"status": "broken"}),
    ("password", {"password": ""}),
    ("username", {"username": ""}),
    ("name", {"name": ""}),
]


@pytest.mark.parametrize(("field", "change"), BAD, ids=[f"{f}-{i}" for i, (f, _c) in enumerate(BAD)])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(api, field, change):
    body = {"kind": "marzban", "name": "mz", "base_url": "https://panel.example.com:8000", "username": "admin",
            "password": PASSWORD, "inbounds": ["VLESS TCP"], **change}
    response = api.post("/api/v1/panels/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert PASSWORD not in response.content.decode()
    assert not Panel.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "3x-ui", "inbounds": []}, "inbounds"),  # 3x-ui needs an inbound id
    ({"kind": "3x-ui", "inbounds": ["main"]}, "inbounds"),
    ({"kind": "pasarguard", "inbounds": ["VLESS TCP"]}, "inbounds"),
    ({"kind": "marzban", "inbounds": [3]}, "inbounds"),
    ({"kind": "marzban", "username": "", "password": ""}, "token"),  # no credentials at all
])
def test_inbounds_and_credentials_as_the_kind_needs(api, body, field):
    base = {"name": "p", "base_url": "https://panel.example.com", "username": "admin", "password": PASSWORD}
    response = api.post("/api/v1/panels/", {**base, **body}, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Panel.objects.exists()


def test_a_duplicate_name_is_refused(api, make_panel, marzban):
    make_panel(marzban, name="main")
    body = {"kind": "manual", "name": "main"}
    response = api.post("/api/v1/panels/", body, format="json")
    assert response.status_code == 400 and "name" in response.json()
    assert Panel.objects.count() == 1


def test_the_test_of_a_panel_that_is_down_says_so_and_is_remembered(api, make_panel, marzban):
    panel = make_panel(marzban)
    marzban.down = True
    response = api.post(f"/api/v1/panels/{panel.pk}/test/")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "could not be reached" in detail and "check its address" in detail
    assert PASSWORD not in response.content.decode()
    panel.refresh_from_db()
    assert panel.checked_at and panel.last_error and PASSWORD not in panel.last_error
    persian = api.post(f"/api/v1/panels/{panel.pk}/test/", HTTP_ACCEPT_LANGUAGE="fa")
    assert persian.status_code == 400 and "دسترسی به پنل ممکن نشد" in persian.json()["detail"]


def test_the_test_with_a_wrong_password_names_the_credentials(api, xui):
    panel = services.panel_create(name="x", kind="3x-ui", base_url=xui.url, username="admin",
                                  password="Wrong-Pa55word-123", inbounds=[xui.inbound_id])
    response = api.post(f"/api/v1/panels/{panel.pk}/test/")
    assert response.status_code == 400
    assert "refused the credentials" in response.json()["detail"]
    assert "Wrong-Pa55word-123" not in response.content.decode()


def test_the_test_with_a_secret_from_another_key_asks_to_set_it_again(api, make_panel, marzban, settings):
    panel = make_panel(marzban)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    response = api.post(f"/api/v1/panels/{panel.pk}/test/")
    assert response.status_code == 400 and "set it again" in response.json()["detail"]


def test_a_panel_holding_accounts_is_not_deleted(api, make_panel, marzban, plan, rich_customer, fake_telegram,
                                                 django_capture_on_commit_callbacks):
    panel = make_panel(marzban, plans=[plan])
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    response = api.delete(f"/api/v1/panels/{panel.pk}/")
    assert response.status_code == 400 and "disabled" in response.json()["detail"]
    assert Panel.objects.filter(pk=panel.pk).exists()
    assert api.get(f"/api/v1/panels/{panel.pk}/").json()["accounts"] == 1


def test_sync_now_answers_what_it_saw(api, make_panel, marzban, plan, rich_customer, fake_telegram,
                                      django_capture_on_commit_callbacks):
    panel = make_panel(marzban, plans=[plan])
    buy(rich_customer, plan, capture=django_capture_on_commit_callbacks)
    account = PanelAccount.objects.get()
    marzban.set_usage(account.name, 3 * 1024**3)
    response = api.post(f"/api/v1/panels/{panel.pk}/sync/")
    assert response.status_code == 200, response.content
    assert response.json()["seen"] == 1 and response.json()["updated"] == 1 and response.json()["error"] == ""
    account.refresh_from_db()
    assert account.used_bytes == 3 * 1024**3
    marzban.down = True
    failed = api.post(f"/api/v1/panels/{panel.pk}/sync/")
    assert failed.status_code == 400 and failed.json()["error"]
    manual = services.panel_create(name="hand", kind="manual")
    assert api.post(f"/api/v1/panels/{manual.pk}/sync/").status_code == 400


def test_accounts_list_filters_repair_and_retry(api, make_panel, marzban, xui, plan, rich_customer, fake_telegram,
                                                django_capture_on_commit_callbacks, settings):
    settings.PANEL_PROVISION_MAX_RETRIES = 0
    first = make_panel(marzban, name="first", plans=[plan])
    buy(rich_customer, plan, key="a", capture=django_capture_on_commit_callbacks)
    good = PanelAccount.objects.get()
    first.plans.remove(plan)
    second = make_panel(xui, name="second", plans=[plan])
    xui.down = True
    buy(rich_customer, plan, key="b", capture=django_capture_on_commit_callbacks)  # a renewal: same account
    other = CustomerFactory.with_balance(1_000_000)
    buy(other, plan, key="c", capture=django_capture_on_commit_callbacks)
    failed = PanelAccount.objects.get(panel=second)
    assert failed.status == "failed"

    def names(query=""):
        response = api.get(f"/api/v1/panel-accounts/{query}")
        assert response.status_code == 200, response.content
        return [row["name"] for row in response.json()["results"]]

    assert names() == [failed.name, good.name]
    assert names(f"?panel={first.pk}") == [good.name]
    assert names("?status=failed") == [failed.name]
    assert names("?drift=1") == []
    for bad in ("?panel=abc", "?panel=²", "?status=gone", "?drift=maybe"):
        assert api.get(f"/api/v1/panel-accounts/{bad}").status_code == 400, bad

    # the account vanished from its panel: the sync records the drift, repair makes it again
    _delete(marzban, good.name)
    services.panel_sync(panel_id=first.pk)
    assert names("?drift=1") == [good.name]
    assert api.get(f"/api/v1/panel-accounts/{good.pk}/").json()["has_drift"] is True
    assert api.post(f"/api/v1/panel-accounts/{failed.pk}/repair/").status_code == 400  # failed: retry it instead
    with django_capture_on_commit_callbacks(execute=True):
        repaired = api.post(f"/api/v1/panel-accounts/{good.pk}/repair/")
    assert repaired.status_code == 202, repaired.content
    good.refresh_from_db()
    assert marzban.user(good.name) is not None and good.drift == {} and names("?drift=1") == []

    xui.down = False
    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"/api/v1/panel-accounts/{failed.pk}/retry/")
    assert retried.status_code == 202, retried.content
    failed.refresh_from_db()
    assert failed.status == "active" and xui.client(failed.name)


def test_the_api_front_page_lists_the_panels(api):
    roots = api.get("/api/v1/").json()
    assert roots["panels"].endswith("/api/v1/panels/")
    assert roots["panel-accounts"].endswith("/api/v1/panel-accounts/")


def test_the_schema_validates_and_keeps_secrets_write_only(tmp_path):
    path = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(path))
    schema = json.loads(path.read_text())
    panel = schema["components"]["schemas"]["Panel"]["properties"]
    assert panel["password"]["writeOnly"] and panel["token"]["writeOnly"]
    assert panel["has_password"]["readOnly"]
    assert "/api/v1/panels/{id}/test/" in schema["paths"]
    assert "/api/v1/panel-accounts/{id}/repair/" in schema["paths"]


def test_the_browsable_api_never_echoes_a_secret_typed(client, make_panel, marzban):
    client.force_login(User.objects.create_superuser("browser", "b@example.com", "pw"))
    typed = {"kind": "marzban", "name": "b", "base_url": "not a url", "username": "u", "password": "Typed-Secret-1",
             "token": "Typed-Token-2", "inbounds": "x"}
    refused = client.post("/api/v1/panels/", typed, HTTP_ACCEPT="text/html")
    assert refused.status_code == 400
    panel = make_panel(marzban)
    changed = client.patch(f"/api/v1/panels/{panel.pk}/", json.dumps({"password": "Typed-Secret-1", "capacity": -5}),
                           content_type="application/json", HTTP_ACCEPT="text/html")
    assert changed.status_code == 400
    page = client.get(f"/api/v1/panels/{panel.pk}/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    for response in (refused, changed, page):
        body = response.content.decode()
        assert "Typed-Secret-1" not in body and "Typed-Token-2" not in body and PASSWORD not in body
