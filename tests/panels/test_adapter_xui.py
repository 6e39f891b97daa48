"""The 3x-ui adapter against the fake panel (tests/fakes/xui.py), per API line: 2.x ("2.6.3": no
server/status, no delClientByEmail, 401 when logged out; "2.9.2"), 3.0.x ("3.0.2": CSRF and API
tokens, still the inbound client routes), 3.1+ ("3.2.0", "3.6.0": the clients API)."""

import base64
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from panels import crypto
from panels.adapters import (
    AccountExists,
    AccountMissing,
    AccountSpec,
    PanelAuthError,
    PanelRefused,
    PanelUnavailable,
    VerifyFailed,
    adapter_for,
)
from panels.adapters.xui import XuiAdapter
from panels.models import Panel
from tests.fakes.xui import FakeXui

GB = 1024**3
DAY = timedelta(days=1)
ALL = ["2.6.3", "2.9.2", "3.0.2", "3.2.0", "3.6.0"]
OLD_LINE = ["2.6.3", "2.9.2", "3.0.2"]
NEW_LINE = ["3.2.0", "3.6.0"]
PASSWORD = "admin-pass"
TOKEN = "xui-api-token-0123456789abcdef"


def soon(days=30) -> datetime:
    return (datetime.now(tz=UTC) + days * DAY).replace(microsecond=0)


def spec(name="bob", **kwargs) -> AccountSpec:
    values = {"expires_at": soon(), "limit_bytes": 50 * GB, "devices": 2, "enabled": True}
    values.update(kwargs)
    return AccountSpec(name=name, **values)


def make_panel(fake: FakeXui, *, inbounds, password=PASSWORD, token=None, public=True, timeout=5) -> Panel:
    return Panel(name="xui", kind="3x-ui", base_url=fake.url, public_base_url=fake.sub_url if public else "",
                 username="admin", password_encrypted=crypto.encrypt(password) if password else "",
                 token_encrypted=crypto.encrypt(token) if token else "", inbounds=inbounds, verify_tls=False,
                 timeout_seconds=timeout)


class Intercept(httpx.BaseTransport):
    """The real HTTP transport, except for requests a rule answers itself (a panel that says "done"
    and does nothing, a settings route the fake does not model)."""

    def __init__(self, *rules):
        self.inner = httpx.HTTPTransport()
        self.rules = list(rules)  # (method, path substring, handler(request) -> Response | None)
        self.seen: list[httpx.Request] = []

    def handle_request(self, request):
        for method, substring, handler in self.rules:
            if request.method == method and substring in request.url.path:
                self.seen.append(request)
                answer = handler(request)
                if answer is not None:
                    return answer
        return self.inner.handle_request(request)

    def close(self):
        self.inner.close()


@pytest.fixture
def make_fake():
    fakes = []

    def make(version="2.9.2", **kwargs) -> FakeXui:
        fake = FakeXui(version=version, **kwargs)
        fake.hold_seconds = 3
        fakes.append(fake)
        return fake

    yield make
    for fake in fakes:
        fake.stop()


@pytest.fixture
def adapters():
    made = []

    def make(panel, **kwargs) -> XuiAdapter:
        adapter = adapter_for(panel, **kwargs)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


@pytest.fixture(params=ALL)
def setup(request, make_fake, adapters):
    """(fake, adapter) with one vless inbound holding one unrelated client (3x-ui will not empty an inbound)."""
    fake = make_fake(request.param)
    inbound = fake.add_inbound("vless", remark="main")
    fake.add_clients(inbound, [{"email": "someone-else"}])
    return fake, adapters(make_panel(fake, inbounds=[inbound]))


def sub_links(url: str) -> list[str]:
    answer = httpx.get(url, timeout=5)
    assert answer.status_code == 200, answer.status_code
    return base64.b64decode(answer.text).decode().split()


def panel_calls(fake, substring="/panel/api"):
    return [c for c in fake.calls if c.server == "panel" and substring in c.path]


# -- version probe and auth ------------------------------------------------------------------------------
@pytest.mark.parametrize("version, line, csrf, shown", [
    ("2.6.3", False, False, "2.x"), ("2.9.2", False, False, "2.x"), ("3.0.2", False, True, "3.0.x"),
    ("3.2.0", True, True, "3.2.0"), ("3.6.0", True, True, "3.6.0")])
def test_the_version_probe_picks_the_line(make_fake, adapters, version, line, csrf, shown):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless", remark="main", port=2443)
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    info = adapter.info()
    assert info.kind == "3x-ui" and info.version == shown
    assert info.inbounds == [{"id": inbound, "remark": "main", "protocol": "vless", "port": 2443}]
    assert adapter._clients_api is line and adapter._csrf_line is csrf
    assert fake.count_calls("/csrf-token") >= 1 and fake.count_calls("/login") == 1
    adapter.get("nobody")
    adapter.get("nobody")
    assert fake.count_calls("/login") == 1 and fake.count_calls("/server/status") == 1


@pytest.mark.parametrize("version", ["3.0.2", "3.6.0"])
def test_an_api_token_is_sent_as_bearer_without_login_or_csrf(make_fake, adapters, version):
    fake = make_fake(version, api_token=TOKEN)
    inbound = fake.add_inbound("vless")
    adapter = adapters(make_panel(fake, inbounds=[inbound], password="", token=TOKEN))
    account = adapter.create(spec())
    assert account.enabled and fake.client("bob")["subId"] in account.subscription_url
    fake.expire_sessions()  # cookies only: a token does not expire
    assert adapter.get("bob").name == "bob"
    assert fake.count_calls("/login") == 0
    fake.revoke_api_tokens()
    with pytest.raises(PanelAuthError) as caught:
        adapter.get("bob")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(adapter)


def test_a_token_alone_cannot_log_in_to_a_2x_panel(make_fake, adapters):
    fake = make_fake("2.9.2")
    adapter = adapters(make_panel(fake, inbounds=[fake.add_inbound("vless")], password="", token=TOKEN))
    with pytest.raises(PanelAuthError, match="3.0"):
        adapter.get("bob")


@pytest.mark.parametrize("version", ALL)
def test_a_session_that_expired_mid_run_logs_in_again_once(make_fake, adapters, version):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    fake.add_clients(inbound, [{"email": "someone-else"}])
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    adapter.create(spec())
    fake.expire_sessions()
    assert adapter.get("bob").devices == 2  # a read
    fake.expire_sessions()
    assert adapter.update(spec(devices=3)).devices == 3  # a write (3.0+: with a new CSRF token)
    assert fake.count_calls("/login") == 3


@pytest.mark.parametrize("version", ["2.9.2", "3.0.2", "3.6.0"])
def test_a_wrong_password_is_an_auth_error_tried_once(make_fake, adapters, version, caplog):
    fake = make_fake(version)
    secret = "Wrong-Secret-Pass-42"
    adapter = adapters(make_panel(fake, inbounds=[fake.add_inbound("vless")], password=secret))
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        with pytest.raises(PanelAuthError) as caught:
            adapter.get("bob")
        assert secret not in str(caught.value)
    assert fake.count_calls("/login") == 1  # never retried in a loop (3.0+ locks after 5 failures)
    assert secret not in caplog.text and secret not in repr(adapter)
    # the right password still works afterwards: the panel did not lock the user out
    good = adapters(make_panel(fake, inbounds=[fake.add_inbound("vless")]))
    assert good.get("bob") is None


def test_a_wrong_base_path_is_refused_with_a_hint(make_fake, adapters):
    fake = make_fake("2.9.2")
    panel = make_panel(fake, inbounds=[1])
    panel.base_url = fake.url.rsplit("/", 1)[0] + "/wrong-path"
    with pytest.raises(PanelRefused, match="base path"):
        adapters(panel).get("bob")


# -- create and read --------------------------------------------------------------------------------------
def test_create_then_get_in_the_panels_units(setup):
    fake, adapter = setup
    expires = soon(10)
    account = adapter.create(spec(expires_at=expires, limit_bytes=7 * GB, devices=3, note="order 42"))
    raw = fake.client("bob")
    assert raw["totalGB"] == 7 * GB and raw["expiryTime"] == int(expires.timestamp() * 1000)
    assert raw["limitIp"] == 3 and raw["enable"] is True and raw["comment"] == "order 42"
    assert len(raw["subId"]) >= 12 and len(raw["id"]) == 36
    assert account.name == "bob" and account.expires_at == expires and account.limit_bytes == 7 * GB
    assert account.devices == 3 and account.enabled and account.status == "active" and account.used_bytes == 0
    assert account.subscription_url == fake.sub_url + raw["subId"]
    assert account.remote_id == raw["id"]
    links = sub_links(account.subscription_url)
    assert len(links) == 1 and links[0].startswith(f"vless://{raw['id']}@")
    again = adapter.get("bob")
    assert again == account
    assert adapter.get("nobody") is None


def test_create_never_expiring_and_unlimited(setup):
    fake, adapter = setup
    account = adapter.create(spec(expires_at=None, limit_bytes=0, devices=0))
    assert fake.client("bob")["expiryTime"] == 0 and fake.client("bob")["totalGB"] == 0
    assert account.expires_at is None and account.limit_bytes == 0 and account.devices == 0


def test_create_disabled(setup):
    """3.1+ clients/add forces enable=true: the adapter disables it afterwards."""
    fake, adapter = setup
    account = adapter.create(spec(enabled=False))
    assert account.enabled is False and account.status == "disabled"
    assert fake.client("bob")["enable"] is False
    assert httpx.get(account.subscription_url, timeout=5).status_code in (400, 404)  # no enabled client: no links


def test_create_twice_is_account_exists(setup):
    fake, adapter = setup
    adapter.create(spec())
    with pytest.raises(AccountExists):
        adapter.create(spec())
    with pytest.raises(AccountExists):
        adapter.create(spec(name="BOB"))  # emails are unique case-insensitively
    assert len([c for c in fake.clients() if c["email"].lower() == "bob"]) == 1


@pytest.mark.parametrize("version", ALL)
def test_trojan_and_shadowsocks_inbounds_get_passwords(make_fake, adapters, version):
    fake = make_fake(version)
    trojan, ss = fake.add_inbound("trojan"), fake.add_inbound("shadowsocks")
    fake.add_clients(trojan, [{"email": "t-other"}])
    fake.add_clients(ss, [{"email": "s-other"}])
    a = adapters(make_panel(fake, inbounds=[trojan]))
    b = adapters(make_panel(fake, inbounds=[ss]))
    ta, sa = a.create(spec("tro")), b.create(spec("sha"))
    assert fake.client("tro")["password"] and not fake.client("tro").get("id")
    assert len(base64.b64decode(fake.client("sha")["password"])) == 32  # 2022-blake3-aes-256-gcm
    assert sub_links(ta.subscription_url)[0].startswith("trojan://")
    assert sub_links(sa.subscription_url)[0].startswith("ss://")
    assert a.update(spec("tro", devices=5)).devices == 5
    assert b.update(spec("sha", enabled=False)).enabled is False
    old = fake.client("tro")["password"]
    a.regenerate_link("tro")
    assert fake.client("tro")["password"] != old
    a.delete("tro")
    b.delete("sha")
    assert a.get("tro") is None and b.get("sha") is None


def test_status_last_online_and_start_on_first_use(setup):
    fake, adapter = setup
    inbound = adapter.panel.inbounds[0]
    now_ms = int(time.time() * 1000)
    fake.add_clients(inbound, [
        {"email": "gone", "expiryTime": now_ms - 1000},
        {"email": "full", "totalGB": 100, "expiryTime": now_ms + 86_400_000},
        {"email": "off", "enable": False},
        {"email": "later", "expiryTime": -7 * 86_400_000},
    ])
    fake.set_usage("full", up=60, down=40)
    fake.set_last_online("full", now_ms - 5000)
    assert adapter.get("gone").status == "expired"
    full = adapter.get("full")
    assert full.status == "limited" and full.used_bytes == 100
    assert abs((full.last_online - datetime.fromtimestamp((now_ms - 5000) / 1000, tz=UTC)).total_seconds()) < 0.01
    assert adapter.get("off").status == "disabled" and adapter.get("off").last_online is None
    later = adapter.get("later")
    assert later.expires_at is None and later.status == "on_hold"


# -- update, reset, regenerate ------------------------------------------------------------------------------
def test_update_extends_limits_disables_and_enables(setup):
    fake, adapter = setup
    created = adapter.create(spec())
    before = fake.client("bob")
    later = soon(60)
    account = adapter.update(spec(expires_at=later, limit_bytes=80 * GB, devices=4))
    assert account.expires_at == later and account.limit_bytes == 80 * GB and account.devices == 4
    assert fake.client("bob")["expiryTime"] == int(later.timestamp() * 1000)
    assert adapter.update(spec(expires_at=later, enabled=False)).enabled is False
    assert fake.client("bob")["enable"] is False
    assert adapter.update(spec(expires_at=later, enabled=True)).enabled is True
    after = fake.client("bob")
    assert (after["subId"], after["id"]) == (before["subId"], before["id"])  # the link and config stay
    assert adapter.get("bob").subscription_url == created.subscription_url
    assert len(sub_links(created.subscription_url)) == 1


def test_update_of_a_missing_account(setup):
    _, adapter = setup
    with pytest.raises(AccountMissing):
        adapter.update(spec("nobody"))
    with pytest.raises(AccountMissing):
        adapter.reset_usage("nobody")
    with pytest.raises(AccountMissing):
        adapter.regenerate_link("nobody")


@pytest.mark.parametrize("version", NEW_LINE)
def test_the_31_update_sends_the_whole_client(make_fake, adapters, version):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    fake.add_clients(inbound, [{"email": "bob", "tgId": 777, "comment": "vip", "reset": 30, "limitIp": 1,
                                "totalGB": 5 * GB, "expiryTime": int(soon().timestamp() * 1000)}])
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    before = fake.client("bob")
    adapter.update(spec(devices=2))
    body = fake.calls_to("/clients/update/bob")[-1].body
    assert body["id"] == before["id"] and body["subId"] == before["subId"]
    assert {"totalGB", "expiryTime", "enable", "limitIp", "email", "tgId", "comment", "reset"} <= set(body)
    after = fake.client("bob")
    assert (after["id"], after["subId"], after["tgId"], after["comment"], after["reset"]) == \
        (before["id"], before["subId"], 777, "vip", 30)
    assert after["totalGB"] == 50 * GB and after["limitIp"] == 2 and after["enable"] is True


def test_reset_usage(setup):
    fake, adapter = setup
    adapter.create(spec())
    fake.set_usage("bob", up=3 * GB, down=4 * GB)
    assert adapter.get("bob").used_bytes == 7 * GB
    account = adapter.reset_usage("bob")
    assert account.used_bytes == 0 and fake.traffic("bob")["up"] == 0


def test_reset_usage_keeps_a_disabled_account_disabled(setup):
    """3.1+ ResetTrafficByEmail re-enables the client; the adapter puts it back."""
    fake, adapter = setup
    adapter.create(spec(enabled=False))
    fake.set_usage("bob", down=GB)
    account = adapter.reset_usage("bob")
    assert account.used_bytes == 0 and account.enabled is False and fake.client("bob")["enable"] is False


def test_regenerate_link_kills_the_old_one(setup):
    fake, adapter = setup
    old = adapter.create(spec())
    old_raw = fake.client("bob")
    new = adapter.regenerate_link("bob")
    raw = fake.client("bob")
    assert raw["subId"] != old_raw["subId"] and raw["id"] != old_raw["id"]
    assert new.subscription_url == fake.sub_url + raw["subId"] != old.subscription_url
    assert new.expires_at == old.expires_at and new.limit_bytes == old.limit_bytes and new.devices == old.devices
    assert httpx.get(old.subscription_url, timeout=5).status_code in (400, 404)
    assert sub_links(new.subscription_url)[0].startswith(f"vless://{raw['id']}@")


# -- delete ------------------------------------------------------------------------------------------------------
def test_delete_and_delete_again(setup):
    fake, adapter = setup
    adapter.create(spec())
    adapter.delete("bob")
    assert adapter.get("bob") is None and fake.client("bob") is None and fake.traffic("bob") is None
    adapter.delete("bob")  # already gone: no error
    assert fake.client("someone-else") is not None


@pytest.mark.parametrize("version", OLD_LINE)
def test_deleting_the_last_client_of_an_inbound_disables_it(make_fake, adapters, version, caplog):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    account = adapter.create(spec())
    with caplog.at_level(logging.WARNING, logger="panels.adapters.xui"):
        adapter.delete("bob")
    assert "last one of inbound" in caplog.text
    assert fake.client("bob")["enable"] is False
    assert httpx.get(account.subscription_url, timeout=5).status_code == 400  # the link gives nothing
    adapter.delete("bob")  # again: still no error


def test_delete_on_26_falls_back_to_del_client(make_fake, adapters):
    fake = make_fake("2.6.3")
    inbound = fake.add_inbound("vless")
    fake.add_clients(inbound, [{"email": "someone-else"}])
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    adapter.create(spec())
    adapter.create(spec("carol"))
    adapter.delete("bob")
    adapter.delete("carol")
    assert fake.client("bob") is None and fake.client("carol") is None
    # a 404 may be a lost session (2.8.4+): tried again after logging in, then the adapter remembers
    assert fake.count_calls("delClientByEmail") <= 2 and fake.count_calls("/login") <= 2
    assert fake.count_calls("/delClient/") == 2


def test_a_delete_the_panel_ignores_is_caught(make_fake, adapters):
    """2.x delClient with an id it does not know answers success and deletes nothing."""
    fake = make_fake("2.6.3")
    inbound = fake.add_inbound("vless")
    fake.add_clients(inbound, [{"email": "someone-else"}])
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    adapter.create(spec())
    adapter._del_by_email = False
    original = adapter._delete_entry

    def wrong_id(entry):
        entry.raw = dict(entry.raw, id="00000000-0000-4000-8000-000000000000")
        return original(entry)

    adapter._delete_entry = wrong_id
    with pytest.raises(VerifyFailed, match="still there"):
        adapter.delete("bob")


# -- several inbounds ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", OLD_LINE)
def test_a_2x_account_on_several_inbounds_has_one_link(make_fake, adapters, version):
    fake = make_fake(version)
    vless, trojan, ss = fake.add_inbound("vless"), fake.add_inbound("trojan"), fake.add_inbound("shadowsocks")
    for ib in (vless, trojan, ss):
        fake.add_clients(ib, [{"email": f"other-{ib}"}])
    adapter = adapters(make_panel(fake, inbounds=[vless, trojan, ss]))
    account = adapter.create(spec())
    clients = {c["email"]: c for c in fake.clients() if c["email"].startswith("bob")}
    assert set(clients) == {"bob", f"bob-{trojan}", f"bob-{ss}"}
    assert {c["_inboundId"] for c in clients.values()} == {vless, trojan, ss}
    assert len({c["subId"] for c in clients.values()}) == 1
    links = sub_links(account.subscription_url)
    assert sorted(link.split(":")[0] for link in links) == ["ss", "trojan", "vless"]
    fake.set_usage("bob", up=GB)
    fake.set_usage(f"bob-{trojan}", down=2 * GB)
    fake.set_usage(f"bob-{ss}", down=3 * GB)
    assert adapter.get("bob").used_bytes == 6 * GB
    later = soon(90)
    adapter.update(spec(expires_at=later, devices=1))
    assert {c["expiryTime"] for c in fake.clients() if c["email"].startswith("bob")} == {int(later.timestamp() * 1000)}
    assert adapter.reset_usage("bob").used_bytes == 0
    new = adapter.regenerate_link("bob")
    assert len({c["subId"] for c in fake.clients() if c["email"].startswith("bob")}) == 1
    assert len(sub_links(new.subscription_url)) == 3
    accounts = {a.name: a for a in adapter.accounts()}
    assert "bob" in accounts and f"bob-{trojan}" not in accounts
    adapter.delete("bob")
    assert [c for c in fake.clients() if c["email"].startswith("bob")] == []


@pytest.mark.parametrize("version", NEW_LINE)
def test_a_31_account_is_one_client_on_every_inbound(make_fake, adapters, version):
    fake = make_fake(version)
    vless, trojan = fake.add_inbound("vless"), fake.add_inbound("trojan")
    adapter = adapters(make_panel(fake, inbounds=[vless, trojan]))
    account = adapter.create(spec())
    assert sorted(fake.client_inbounds("bob")) == [vless, trojan]
    assert fake.calls_to("/clients/add")[0].body["inboundIds"] == [vless, trojan]
    assert sorted(link.split(":")[0] for link in sub_links(account.subscription_url)) == ["trojan", "vless"]
    fake.set_usage("bob", up=GB, down=GB)
    assert adapter.get("bob").used_bytes == 2 * GB
    adapter.delete("bob")
    assert fake.client_inbounds("bob") == []


@pytest.mark.parametrize("version", ["2.9.2", "3.6.0"])
def test_update_adds_the_account_to_inbounds_it_is_missing_from(make_fake, adapters, version):
    fake = make_fake(version)
    first, second = fake.add_inbound("vless"), fake.add_inbound("vmess")
    fake.add_clients(first, [{"email": "other"}])
    panel = make_panel(fake, inbounds=[first])
    adapters(panel).create(spec())
    panel.inbounds = [first, second]  # a create cut short, or an inbound added later
    account = adapters(panel).update(spec())
    assert len(sub_links(account.subscription_url)) == 2


def test_an_extra_inbound_name_taken_rolls_the_create_back(make_fake, adapters):
    fake = make_fake("2.9.2")
    first, second = fake.add_inbound("vless"), fake.add_inbound("vless")
    fake.add_clients(first, [{"email": "other"}])
    fake.add_clients(second, [{"email": f"bob-{second}"}])
    adapter = adapters(make_panel(fake, inbounds=[first, second]))
    with pytest.raises(PanelRefused) as caught:
        adapter.create(spec())
    assert not isinstance(caught.value, AccountExists)
    assert fake.client("bob") is None and adapter.get("bob") is None


def test_an_unknown_inbound_is_refused_before_writing(make_fake, adapters):
    fake = make_fake("2.9.2")
    adapter = adapters(make_panel(fake, inbounds=[99]))
    with pytest.raises(PanelRefused, match="no inbound 99"):
        adapter.create(spec())
    assert fake.count_calls("addClient") == 0
    with pytest.raises(PanelRefused, match="no 3x-ui inbound"):
        adapters(make_panel(fake, inbounds=[])).create(spec())


# -- every account ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["2.9.2", "3.0.2", "3.6.0"])
def test_accounts_reads_a_big_panel_in_one_answer_or_pages(make_fake, adapters, version):
    """2.x: the one inbound list; 3.1+: clients/list/paged, 200 a page (test_adapter_xui_paged.py)."""
    fake = make_fake(version)
    first, second = fake.add_inbound("vless"), fake.add_inbound("trojan")
    fake.add_clients(first, [{"email": f"user{i}", "totalGB": GB} for i in range(1200)])
    fake.add_clients(second, [{"email": f"t{i}"} for i in range(50)])
    fake.set_usage("user7", up=5, down=6)
    adapter = adapters(make_panel(fake, inbounds=[first, second]))
    adapter.create(spec())
    fake.calls.clear()
    accounts = list(adapter.accounts())
    pages = 7 if fake.line == "3.1+" else 1  # ceil(1251 / 200)
    assert len(panel_calls(fake, "/list")) == pages
    assert len(panel_calls(fake)) <= pages + 1
    names = [a.name for a in accounts]
    assert len(names) == 1251 and len(set(names)) == 1251 and "bob" in names
    by_name = {a.name: a for a in accounts}
    assert by_name["user7"].used_bytes == 11 and by_name["user7"].limit_bytes == GB
    assert by_name["bob"].subscription_url.startswith(fake.sub_url)


# -- faults -----------------------------------------------------------------------------------------------------
def write_route(fake) -> str:
    return "/clients/add" if fake.line == "3.1+" else "/addClient"


@pytest.mark.parametrize("version", ALL)
def test_success_false_is_refused(make_fake, adapters, version):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    adapter.get("nobody")
    fake.fail_next(write_route(fake), "success_false", msg="Something went wrong (disk full\n)")
    with pytest.raises(PanelRefused, match="disk full") as caught:
        adapter.create(spec())
    assert not caught.value.retry and not isinstance(caught.value, AccountExists)
    assert adapter.get("bob") is None


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("kind", ["http500", "drop"])
def test_a_500_or_a_dropped_connection_is_unavailable(make_fake, adapters, version, kind):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    adapter.get("nobody")
    fake.fail_next(write_route(fake), kind)
    with pytest.raises(PanelUnavailable) as caught:
        adapter.create(spec())
    assert caught.value.retry
    assert adapter.get("bob") is None  # nothing was done: the caller may create again
    assert adapter.create(spec()).name == "bob"


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("kind", ["timeout_after_act", "empty"])
def test_an_answer_lost_after_the_write_is_unavailable_and_the_account_is_there(make_fake, adapters, version, kind):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    adapter = adapters(make_panel(fake, inbounds=[inbound], timeout=1))
    adapter.get("nobody")
    fake.fail_next(write_route(fake), kind)
    started = time.monotonic()
    with pytest.raises(PanelUnavailable) as caught:
        adapter.create(spec())
    assert caught.value.retry and time.monotonic() - started < 2.5
    account = adapter.get("bob")  # what the caller does before trying again
    assert account is not None and account.limit_bytes == 50 * GB
    with pytest.raises(AccountExists):
        adapter.create(spec())


@pytest.mark.parametrize("version", ["2.9.2", "3.6.0"])
def test_faults_on_reads_and_updates(make_fake, adapters, version):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    adapter.create(spec())
    read = "/clients/get/" if fake.line == "3.1+" else "/inbounds/list"
    update = "/clients/update/" if fake.line == "3.1+" else "/updateClient/"
    for kind in ("http500", "drop", "empty"):
        fake.fail_next(read, kind)
        with pytest.raises(PanelUnavailable):
            adapter.get("bob")
    fake.fail_next(update, "success_false")
    with pytest.raises(PanelRefused):
        adapter.update(spec(devices=9))
    fake.fail_next(update, "empty")
    with pytest.raises(PanelUnavailable):
        adapter.update(spec(devices=9))
    assert adapter.get("bob").devices == 9  # "empty" happened after the change


@pytest.mark.parametrize("version", ["2.9.2", "3.6.0"])
def test_a_panel_that_is_down(make_fake, adapters, version):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    adapter = adapters(make_panel(fake, inbounds=[inbound]))
    adapter.get("nobody")
    fake.down = True
    with pytest.raises(PanelUnavailable):
        adapter.create(spec())
    fresh = adapters(make_panel(fake, inbounds=[inbound]))
    with pytest.raises(PanelUnavailable):
        fresh.info()
    fake.down = False
    assert adapter.create(spec()).name == "bob"


@pytest.mark.parametrize("version", ["2.9.2", "3.0.2", "3.6.0"])
def test_a_write_the_panel_accepts_but_does_not_apply_fails_verification(make_fake, adapters, version):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    fake.add_clients(inbound, [{"email": "other"}])
    route = "/clients/update/" if fake.line == "3.1+" else "/updateClient/"
    done = httpx.Response(200, json={"success": True, "msg": "Inbound client has been updated.", "obj": None})
    transport = Intercept(("POST", route, lambda request: done))
    adapter = adapters(make_panel(fake, inbounds=[inbound]), transport=transport)
    adapter.create(spec())
    with pytest.raises(VerifyFailed, match="expiry") as caught:
        adapter.update(spec(expires_at=soon(90)))
    assert caught.value.retry
    with pytest.raises(VerifyFailed, match="enabled"):
        adapter.update(spec(enabled=False))


def test_a_2x_write_ignored_on_one_inbound_of_several_fails_verification(make_fake, adapters):
    fake = make_fake("2.9.2")
    first, second = fake.add_inbound("vless"), fake.add_inbound("vmess")
    for ib in (first, second):
        fake.add_clients(ib, [{"email": f"other-{ib}"}])

    def ignore_second(request):
        if json.loads(request.content)["id"] == second:
            return httpx.Response(200, json={"success": True, "msg": "Inbound client has been updated.", "obj": None})
        return None

    adapter = adapters(make_panel(fake, inbounds=[first, second]),
                       transport=Intercept(("POST", "/updateClient/", ignore_second)))
    adapter.create(spec())
    with pytest.raises(VerifyFailed, match=f"bob-{second} in inbound {second} differs"):
        adapter.update(spec(devices=4))


# -- the subscription address ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("version, route", [("2.9.2", "/panel/setting/defaultSettings"),
                                            ("3.0.2", "/panel/setting/defaultSettings"),
                                            ("3.6.0", "/panel/api/setting/defaultSettings")])
def test_without_a_public_address_the_panels_sub_uri_is_used(make_fake, adapters, version, route):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")

    def default_settings(request):
        assert "3x-ui=" in request.headers.get("cookie", "")
        if fake.v >= (3, 0, 0):
            assert request.headers.get("x-csrf-token")
        return httpx.Response(200, json={"success": True, "msg": "", "obj": {
            "subEnable": True, "subURI": fake.sub_url, "subTitle": "", "pageSize": 25}})

    transport = Intercept(("POST", route, default_settings))
    adapter = adapters(make_panel(fake, inbounds=[inbound], public=False), transport=transport)
    account = adapter.create(spec())
    assert account.subscription_url == fake.sub_url + fake.client("bob")["subId"]
    assert len(sub_links(account.subscription_url)) == 1
    adapter.get("bob")
    assert len(transport.seen) == 1  # asked once per adapter


@pytest.mark.parametrize("version", ["2.9.2", "3.6.0"])
def test_without_any_subscription_address_create_is_refused_before_writing(make_fake, adapters, version):
    fake = make_fake(version)
    inbound = fake.add_inbound("vless")
    off = httpx.Response(200, json={"success": True, "msg": "", "obj": {"subEnable": False, "subURI": ""}})
    transport = Intercept(("POST", "/setting/defaultSettings", lambda request: off))
    adapter = adapters(make_panel(fake, inbounds=[inbound], public=False), transport=transport)
    with pytest.raises(PanelRefused, match="public subscription address"):
        adapter.create(spec())
    assert fake.count_calls(write_route(fake)) == 0
    with pytest.raises(PanelRefused, match="public subscription address"):
        adapter.info()


def test_a_public_address_without_a_trailing_slash(make_fake, adapters):
    fake = make_fake("2.9.2")
    inbound = fake.add_inbound("vless")
    panel = make_panel(fake, inbounds=[inbound])
    panel.public_base_url = fake.sub_url.rstrip("/")
    account = adapters(panel).create(spec())
    assert account.subscription_url == fake.sub_url + fake.client("bob")["subId"]


def test_no_secret_in_requests_logs_or_repr(make_fake, adapters, caplog):
    fake = make_fake("3.6.0", api_token=TOKEN)
    inbound = fake.add_inbound("vless")
    caplog.set_level(logging.DEBUG)
    adapter = adapters(make_panel(fake, inbounds=[inbound], token=TOKEN))
    adapter.create(spec())
    assert TOKEN not in caplog.text and PASSWORD not in caplog.text
    assert TOKEN not in repr(adapter) and PASSWORD not in repr(adapter)
    assert TOKEN not in json.dumps([c.body for c in fake.calls], default=str)


def test_an_inbound_answered_empty_is_a_refusal_not_a_crash(make_fake, adapters):
    fake = make_fake("2.9.2")
    inbound = fake.add_inbound("vless", remark="main")
    empty = httpx.Response(200, json={"success": True, "msg": "", "obj": None})
    adapter = adapters(make_panel(fake, inbounds=[inbound]),
                       transport=Intercept(("GET", f"/get/{inbound}", lambda request: empty)))
    with pytest.raises(PanelRefused, match="no inbound"):
        adapter.create(AccountSpec(name="bob", expires_at=None))
