"""The Marzban / PasarGuard adapter driven against the fake panel (tests/fakes/marzban.py) over
loopback: auth, the probe, every account operation with its read-back, paging, and the faults."""

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

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
from panels.adapters.marzban import MarzbanAdapter, _when
from panels.crypto import encrypt
from panels.models import Panel
from tests.fakes.marzban import FakeMarzban

BOTH = ["marzban", "pasarguard"]
GB = 1024**3
PASSWORD = "Adm1n-S3cret-Pa55"
PUBLIC = "https://sub.example.com"


def make_fake(flavor: str, **kwargs) -> FakeMarzban:
    fake = FakeMarzban(flavor=flavor, password=PASSWORD, **kwargs)
    fake.add_inbound("vless", "VLESS TCP REALITY", tls="reality", port=443)
    fake.add_inbound("vless", "VLESS WS", network="ws", port=8080)
    fake.add_inbound("vmess", "VMess TCP", port=8081)
    fake.add_inbound("trojan", "Trojan TCP", port=8082)
    if flavor == "pasarguard":
        fake.group_id = fake.add_group("default", ["VLESS TCP REALITY", "VMess TCP"])
        fake.trojan_group = fake.add_group("trojan", ["Trojan TCP"])
    return fake


def make_panel(fake: FakeMarzban, *, kind: str | None = None, password: str | None = PASSWORD, token: str = "",
               timeout: int = 5, public: str = PUBLIC, inbounds: list | None = None) -> Panel:
    if inbounds is None:
        inbounds = [fake.group_id] if fake.flavor == "pasarguard" else ["VLESS TCP REALITY", "VMess TCP"]
    return Panel(name="main", kind=kind or fake.flavor, base_url=fake.url, public_base_url=public,
                 username=fake.username, password_encrypted=encrypt(password) if password else "",
                 token_encrypted=encrypt(token) if token else "", inbounds=inbounds, timeout_seconds=timeout)


def in_days(days: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def spec(name="alice", *, days: float | None = 30, limit=50 * GB, **kwargs) -> AccountSpec:
    return AccountSpec(name=name, expires_at=in_days(days) if days is not None else None, limit_bytes=limit, **kwargs)


@pytest.fixture(params=BOTH)
def fake(request):
    fake = make_fake(request.param)
    yield fake
    fake.stop()


@pytest.fixture
def adapter(fake):
    with adapter_for(make_panel(fake)) as adapter:
        yield adapter


def put_bodies(fake):
    return [c.body for c in fake.calls_to("/api/user", "PUT")]


def assert_clean(body):
    """A PUT body: no null anywhere (null means something else per field) and no credentials."""
    assert isinstance(body, dict) and body
    for key, value in body.items():
        assert value is not None, key
        assert key not in ("proxies", "proxy_settings", "username", "password", "inbounds", "group_ids"), key
        if isinstance(value, dict):
            assert None not in value.values(), key


# --- registration, auth -------------------------------------------------------------------------------

def test_both_kinds_get_the_marzban_adapter_with_the_panels_timeout(fake):
    with adapter_for(make_panel(fake, timeout=7)) as adapter:
        assert type(adapter) is MarzbanAdapter
        assert adapter.kind == fake.flavor
        assert adapter.client.timeout.read == 7


def test_form_login_then_bearer_calls(adapter, fake):
    assert adapter.get("nobody") is None
    login = fake.calls_to("/api/admin/token")
    assert len(login) == 1
    assert login[0].body["username"] == fake.username
    get = fake.calls_to("/nobody")[0]
    assert get.headers["Authorization"].startswith("Bearer ey")
    assert "X-Api-Key" not in get.headers


def test_expired_token_means_one_new_login_and_the_call_repeated(adapter, fake):
    adapter.create(spec())
    fake.expire_tokens()
    assert adapter.get("alice").limit_bytes == 50 * GB
    adapter.update(spec(limit=60 * GB))
    assert fake.count_calls("/api/admin/token") == 2
    assert [c.status for c in fake.calls].count(401) == 1  # the one call made with the expired token, repeated


def test_a_wrong_password_is_an_auth_error_without_the_password(fake, caplog):
    caplog.set_level(logging.DEBUG)
    with adapter_for(make_panel(fake, password="Wr0ng-Secret-Word")) as adapter:
        with pytest.raises(PanelAuthError) as caught:
            adapter.get("alice")
        for text in (str(caught.value), repr(caught.value), repr(adapter), caplog.text):
            assert "Wr0ng-Secret-Word" not in text
            assert PASSWORD not in text
    assert "wrong username or password" in str(caught.value)
    assert not caught.value.retry


def test_a_password_changed_mid_run_is_an_auth_error_after_one_new_login(adapter, fake):
    adapter.create(spec())
    fake.password = "changed-on-the-panel"
    fake.expire_tokens()
    with pytest.raises(PanelAuthError):
        adapter.get("alice")
    assert fake.count_calls("/api/admin/token") == 2


def test_no_credentials_at_all_is_an_auth_error(fake):
    with adapter_for(make_panel(fake, password=None)) as adapter, pytest.raises(PanelAuthError, match="no username"):
        adapter.info()
    assert fake.calls == []


def test_pasarguard_api_key_goes_in_x_api_key():
    fake = make_fake("pasarguard")
    try:
        key = fake.add_api_key()
        with adapter_for(make_panel(fake, password=None, token=key)) as adapter:
            adapter.create(spec())
            assert adapter.get("alice").limit_bytes == 50 * GB
            with pytest.raises(PanelAuthError) as caught:
                fake._api_keys.clear()  # the key was revoked on the panel
                adapter.get("alice")
            assert key not in str(caught.value) and key not in repr(adapter)
        assert fake.count_calls("/api/admin/token") == 0
        assert all(c.headers.get("X-Api-Key") == key and "Authorization" not in c.headers for c in fake.calls)
    finally:
        fake.stop()


def test_a_refused_api_key_falls_back_to_the_password():
    fake = make_fake("pasarguard")
    try:
        with adapter_for(make_panel(fake, token="pg_key_00000000-0000-4000-8000-000000000000")) as adapter:
            assert adapter.get("nobody") is None
        assert [c.status for c in fake.calls[:3]] == [401, 200, 200]  # system with the key, login, system
    finally:
        fake.stop()


def test_marzban_stored_token_is_a_bearer_token_and_the_password_renews_it():
    fake = make_fake("marzban")
    try:
        token = httpx.post(f"{fake.url}/api/admin/token", data={"username": "admin", "password": PASSWORD}).json()["access_token"]
        with adapter_for(make_panel(fake, token=token)) as adapter:
            adapter.create(spec())
            assert fake.count_calls("/api/admin/token") == 1  # ours above, none by the adapter
            assert fake.calls_to("/api/system")[0].headers["Authorization"] == f"Bearer {token}"
            fake.expire_tokens()
            assert adapter.get("alice") is not None
            assert fake.count_calls("/api/admin/token") == 2
    finally:
        fake.stop()


# --- the probe ------------------------------------------------------------------------------------------

def test_probe_marzban_lists_inbounds_by_tag():
    fake = make_fake("marzban")
    try:
        with adapter_for(make_panel(fake)) as adapter:
            info = adapter.info()
            adapter.get("nobody")
            adapter.get("nobody")
        assert (info.kind, info.version) == ("marzban", "0.8.4")
        assert {(i["tag"], i["protocol"]) for i in info.inbounds} == {
            ("VLESS TCP REALITY", "vless"), ("VLESS WS", "vless"), ("VMess TCP", "vmess"), ("Trojan TCP", "trojan")}
        assert fake.count_calls("/api/system") == 1
    finally:
        fake.stop()


def test_probe_pasarguard_lists_groups():
    fake = make_fake("pasarguard")
    try:
        with adapter_for(make_panel(fake)) as adapter:
            info = adapter.info()
        assert (info.kind, info.version) == ("pasarguard", "5.2.1")
        assert info.inbounds[0] == {"id": fake.group_id, "name": "default", "inbound_tags": ["VLESS TCP REALITY", "VMess TCP"],
                                    "is_disabled": False}
        assert info.inbounds[1]["id"] == fake.trojan_group
    finally:
        fake.stop()


@pytest.mark.parametrize("flavor,wrong", [("marzban", "pasarguard"), ("pasarguard", "marzban")])
def test_the_wrong_kind_is_refused_before_any_write(flavor, wrong):
    fake = make_fake(flavor)
    try:
        with adapter_for(make_panel(fake, kind=wrong, inbounds=[])) as adapter:
            with pytest.raises(PanelRefused, match=f"is {flavor} .*change the panel's kind to {flavor}"):
                adapter.info()
            with pytest.raises(PanelRefused):
                adapter.create(spec())
        assert fake.count_calls("/api/user", "POST") == 0
    finally:
        fake.stop()


@pytest.mark.parametrize("version,by_id,disabled_route,hwid", [
    ("3.0.2", False, False, False), ("v4.0.2", True, False, True), ("5.2.1", True, True, True)])
def test_pasarguard_routes_follow_the_version(version, by_id, disabled_route, hwid):
    fake = make_fake("pasarguard", version=version)
    try:
        with adapter_for(make_panel(fake)) as adapter:
            account = adapter.create(spec(devices=2))
            adapter.update(spec(devices=2, enabled=False))
        assert account.remote_id == str(fake.user("alice")["id"])
        paths = [c.path for c in fake.calls if c.path.startswith("/api/user/")]
        assert all(("/by-id/" in p or "/by-username/" in p) == by_id for p in paths)
        assert any(p.endswith("/disabled") for p in paths) == disabled_route
        assert ("hwid_limit" in fake.calls_to("/api/user", "POST")[0].body) == hwid
        if not disabled_route:
            assert put_bodies(fake) == [{"status": "disabled"}]
        assert fake.user("alice")["status"] == "disabled"
    finally:
        fake.stop()


# --- create and read --------------------------------------------------------------------------------------

def test_create_then_get_in_seconds_and_bytes(adapter, fake):
    wanted = spec(days=30, limit=50 * GB, note="order 17")
    account = adapter.create(wanted)
    body = fake.calls_to("/api/user", "POST")[0].body
    assert body["expire"] == int(wanted.expires_at.timestamp())
    assert body["data_limit"] == 50 * GB and body["status"] == "active" and body["note"] == "order 17"
    user = fake.user("alice")
    assert user["data_limit"] == 50 * GB
    if fake.flavor == "marzban":
        assert user["expire"] == int(wanted.expires_at.timestamp())
    else:
        assert user["expire"] == wanted.expires_at.isoformat().replace("+00:00", "Z")
    got = adapter.get("alice")
    for read in (account, got):
        assert read.name == "alice" and read.enabled and read.status == "active"
        assert read.expires_at == wanted.expires_at and read.limit_bytes == 50 * GB and read.used_bytes == 0
        assert read.subscription_url.startswith(f"{PUBLIC}/sub/")
    assert got.remote_id == (str(user["id"]) if fake.flavor == "pasarguard" else "")


def test_marzban_create_sends_proxies_and_inbounds_of_the_configured_tags():
    fake = make_fake("marzban")
    try:
        with adapter_for(make_panel(fake)) as adapter:
            adapter.create(spec())
        body = fake.calls_to("/api/user", "POST")[0].body
        assert body["proxies"] == {"vless": {}, "vmess": {}}
        assert body["inbounds"] == {"vless": ["VLESS TCP REALITY"], "vmess": ["VMess TCP"]}
        assert fake.user("alice")["inbounds"] == {"vless": ["VLESS TCP REALITY"], "vmess": ["VMess TCP"]}
    finally:
        fake.stop()


def test_marzban_without_configured_inbounds_gets_every_inbound_and_an_unknown_tag_is_refused():
    fake = make_fake("marzban")
    try:
        with adapter_for(make_panel(fake, inbounds=[])) as adapter:
            adapter.create(spec())
        assert fake.user("alice")["inbounds"] == {"vless": ["VLESS TCP REALITY", "VLESS WS"], "vmess": ["VMess TCP"],
                                                  "trojan": ["Trojan TCP"]}
        with adapter_for(make_panel(fake, inbounds=["VLESS TCP REALITY", "Gone"])) as adapter:
            with pytest.raises(PanelRefused, match="inbounds: 'Gone'"):
                adapter.create(spec("bob"))
        assert fake.count_calls("/api/user", "POST") == 1
    finally:
        fake.stop()


def test_pasarguard_create_sends_proxy_settings_and_groups():
    fake = make_fake("pasarguard")
    try:
        with adapter_for(make_panel(fake, inbounds=[str(fake.trojan_group)])) as adapter:
            adapter.create(spec())
            with adapter_for(make_panel(fake, inbounds=[])) as every:
                every.create(spec("bob"))
            with pytest.raises(PanelRefused, match="404 Group not found"):
                with adapter_for(make_panel(fake, inbounds=[99])) as unknown:
                    unknown.create(spec("carol"))
        bodies = [c.body for c in fake.calls_to("/api/user", "POST")]
        assert bodies[0]["proxy_settings"] == {} and bodies[0]["group_ids"] == [fake.trojan_group]
        assert bodies[1]["group_ids"] == [fake.group_id, fake.trojan_group]
        assert fake.user("alice")["group_ids"] == [fake.trojan_group]
        assert fake.user("carol") is None
    finally:
        fake.stop()


def test_unlimited_is_zero_both_ways(adapter, fake):
    account = adapter.create(spec(days=None, limit=0))
    body = fake.calls_to("/api/user", "POST")[0].body
    assert body["expire"] == 0 and body["data_limit"] == 0
    assert account.expires_at is None and account.limit_bytes == 0
    assert fake.user("alice")["expire"] is None


def test_create_a_disabled_account(adapter, fake):
    account = adapter.create(spec(enabled=False))
    assert not account.enabled and account.status == "disabled"
    assert fake.user("alice")["status"] == "disabled"


@pytest.mark.parametrize("prefix,public,expected", [
    (None, PUBLIC, PUBLIC + "/sub/"),
    (None, "", "{origin}/sub/"),
    ("https://links.example.org", PUBLIC, "https://links.example.org/sub/"),
])
@pytest.mark.parametrize("flavor", BOTH)
def test_subscription_url_absolute_with_or_without_the_panels_prefix(flavor, prefix, public, expected):
    fake = make_fake(flavor, subscription_prefix=prefix)
    try:
        with adapter_for(make_panel(fake, public=public)) as adapter:
            created = adapter.create(spec())
            read = adapter.get("alice")
        expected = expected.format(origin=fake.url)
        assert created.subscription_url.startswith(expected) and read.subscription_url.startswith(expected)
    finally:
        fake.stop()


def test_create_twice_is_account_exists(adapter, fake):
    adapter.create(spec())
    with pytest.raises(AccountExists):
        adapter.create(spec())
    if fake.flavor == "marzban":  # Marzban names ignore case
        with pytest.raises(AccountExists):
            adapter.create(spec("ALICE"))
        assert adapter.get("Alice").name == "alice"


@pytest.mark.parametrize("name", ["ab", "a b c", "bad/name"])
def test_a_bad_username_is_refused_naming_the_field(adapter, name):
    with pytest.raises(PanelRefused) as caught:
        adapter.create(spec(name))
    assert "username" in str(caught.value)
    assert type(caught.value) is PanelRefused


def test_get_of_a_name_that_is_not_a_path_is_refused(adapter, fake):
    with pytest.raises(PanelRefused, match="username"):
        adapter.get("../system")


# --- update ----------------------------------------------------------------------------------------------

def test_update_extends_changes_the_limit_disables_and_enables(adapter, fake):
    adapter.create(spec(days=30, limit=50 * GB))
    longer = spec(days=60, limit=50 * GB)
    account = adapter.update(longer)
    assert account.expires_at == longer.expires_at
    assert put_bodies(fake) == [{"expire": int(longer.expires_at.timestamp())}]

    later = longer.expires_at  # one expiry for every step: a new in_days() a second later would differ

    def at_later(**kwargs):
        return AccountSpec(name="alice", expires_at=later, **kwargs)

    account = adapter.update(at_later(limit_bytes=100 * GB))
    assert account.limit_bytes == 100 * GB and fake.user("alice")["data_limit"] == 100 * GB
    assert put_bodies(fake)[-1] == {"data_limit": 100 * GB}

    account = adapter.update(at_later(limit_bytes=100 * GB, enabled=False))
    assert not account.enabled and fake.user("alice")["status"] == "disabled"
    account = adapter.update(at_later(limit_bytes=100 * GB, enabled=True))
    assert account.enabled and fake.user("alice")["status"] == "active"
    if fake.flavor == "marzban":
        assert put_bodies(fake)[-2:] == [{"status": "disabled"}, {"status": "active"}]
    else:
        assert put_bodies(fake)[-2:] == [{"disabled": True}, {"disabled": False}]
    for body in put_bodies(fake):
        assert_clean(body)


def test_update_to_unlimited_sends_zeros_not_nulls(adapter, fake):
    adapter.create(spec())
    account = adapter.update(spec(days=None, limit=0))
    assert put_bodies(fake) == [{"expire": 0, "data_limit": 0}]
    assert account.expires_at is None and account.limit_bytes == 0


def test_update_with_nothing_to_change_writes_nothing(adapter, fake):
    wanted = spec()
    adapter.create(wanted)
    assert adapter.update(wanted).limit_bytes == wanted.limit_bytes
    assert put_bodies(fake) == []


def test_update_of_a_missing_account(adapter):
    with pytest.raises(AccountMissing):
        adapter.update(spec("ghost"))


def test_update_brings_an_expired_account_back(adapter, fake):
    adapter.create(spec(days=1))
    fake.advance(2 * 86400)
    expired = adapter.get("alice")
    assert expired.status == "expired" and expired.enabled
    account = adapter.update(AccountSpec("alice", expires_at=in_days(30), limit_bytes=50 * GB))
    assert account.status == "active"


def test_update_enables_a_disabled_account_with_a_new_expiry_in_one_go(adapter, fake):
    adapter.create(spec(days=1, enabled=False))
    fake.advance(2 * 86400)
    account = adapter.update(AccountSpec("alice", expires_at=in_days(30), limit_bytes=50 * GB))
    assert account.enabled and account.status == "active"


def test_update_keeps_a_next_plan_set_on_the_panel(adapter, fake):
    adapter.create(spec())
    plan = {"data_limit": 5 * GB, "expire": 86400, "add_remaining_traffic": False}
    if fake.flavor == "marzban":
        plan["fire_on_either"] = True
    path = "/api/user/alice" if fake.flavor == "marzban" else f"/api/user/by-id/{fake.user('alice')['id']}"
    assert adapter._send("PUT", path, json={"next_plan": plan}).status_code == 200
    adapter.update(spec(limit=70 * GB))
    assert fake.user("alice")["next_plan"]["data_limit"] == 5 * GB
    assert_clean(put_bodies(fake)[-1])


def test_pasarguard_devices_are_hwid_limit():
    fake = make_fake("pasarguard")
    try:
        with adapter_for(make_panel(fake)) as adapter:
            assert adapter.create(spec(devices=2)).devices == 2
            assert adapter.update(spec(devices=3)).devices == 3
            assert adapter.update(spec(devices=0)).devices == 0
        assert [c.body.get("hwid_limit") for c in fake.calls_to("/api/user", "PUT")] == [3, 0]
        assert fake.user("alice")["hwid_limit"] == 0
    finally:
        fake.stop()


class DropPutBodies(httpx.BaseTransport):
    """A panel that answers every PUT "ok" but applies nothing."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request):
        if request.method == "PUT":
            request = httpx.Request("PUT", request.url, headers={k: v for k, v in request.headers.items()
                                                                 if k.lower() != "content-length"}, json={})
        return self.inner.handle_request(request)

    def close(self):
        self.inner.close()


def test_a_write_the_panel_did_not_apply_is_verify_failed(fake):
    with adapter_for(make_panel(fake), transport=DropPutBodies()) as adapter:
        adapter.create(spec())
        with pytest.raises(VerifyFailed, match="limit") as caught:
            adapter.update(spec(limit=10 * GB))
    assert caught.value.retry


# --- reset, revoke, delete ------------------------------------------------------------------------------------

def test_reset_usage(adapter, fake):
    adapter.create(spec())
    fake.set_usage("alice", 7 * GB)
    assert adapter.get("alice").used_bytes == 7 * GB
    account = adapter.reset_usage("alice")
    assert account.used_bytes == 0 and account.status == "active"
    assert fake.count_calls("/reset", "POST") == 1


def test_reset_leaves_a_disabled_account_disabled(adapter, fake):
    adapter.create(spec(enabled=False))
    fake.set_usage("alice", GB)
    account = adapter.reset_usage("alice")
    assert not account.enabled and fake.user("alice")["status"] == "disabled"


def test_reset_lifts_limited(adapter, fake):
    adapter.create(spec(limit=GB))
    fake.set_usage("alice", 2 * GB)
    assert adapter.get("alice").status == "limited"
    assert adapter.reset_usage("alice").status == "active"


def test_reset_and_revoke_of_a_missing_account(adapter):
    with pytest.raises(AccountMissing):
        adapter.reset_usage("ghost")
    with pytest.raises(AccountMissing):
        adapter.regenerate_link("ghost")


def test_regenerate_link_kills_the_old_one(adapter, fake):
    old = adapter.create(spec()).subscription_url
    fake.advance(2)  # tokens made in the second of the revoke stay valid
    account = adapter.regenerate_link("alice")
    assert fake.count_calls("/revoke_sub", "POST") == 1
    revoke_answer = fake.calls_to("/revoke_sub")[0]
    assert revoke_answer.status == 200
    assert account.subscription_url != old and account.subscription_url.startswith(PUBLIC)
    assert account.enabled and account.limit_bytes == 50 * GB

    def info(url):
        return httpx.get(fake.url + urlsplit(url).path + "/info").status_code

    assert info(old) == 404
    assert info(account.subscription_url) == 200


class Recording(httpx.BaseTransport):
    """Passes everything on, keeps the JSON answers of the writes and moves the panel's clock
    after each, so that a read-back gets a token of another second (another URL)."""

    def __init__(self, fake):
        self.fake = fake
        self.inner = httpx.HTTPTransport()
        self.answers = []

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.startswith("/api/user"):
            response.read()
            self.answers.append((request.url.path, response.json()))
            self.fake.advance(2)
        return response

    def close(self):
        self.inner.close()


def test_the_link_kept_is_the_one_create_and_revoke_answered(fake):
    recording = Recording(fake)
    with adapter_for(make_panel(fake), transport=recording) as adapter:
        created = adapter.create(spec())
        revoked = adapter.regenerate_link("alice")
        assert adapter.get("alice").subscription_url not in (created.subscription_url, revoked.subscription_url)
    (create_path, create_answer), (revoke_path, revoke_answer) = recording.answers
    assert create_path == "/api/user" and revoke_path.endswith("/revoke_sub")
    assert created.subscription_url == PUBLIC + create_answer["subscription_url"]
    assert revoked.subscription_url == PUBLIC + revoke_answer["subscription_url"]


def test_delete_and_delete_again(adapter, fake):
    adapter.create(spec())
    assert adapter.delete("alice") is None
    assert adapter.get("alice") is None and fake.user("alice") is None
    adapter.delete("alice")
    assert [c.status for c in fake.calls_to("/api/user", "DELETE")] == [200 if fake.flavor == "marzban" else 204]


# --- listing --------------------------------------------------------------------------------------------------

def test_accounts_pages_through_every_user(fake):
    count = 2100
    for i in range(count):
        fake.add_user(f"user_{i:04d}", expire=fake.now() + 86400, data_limit=GB, used_traffic=i)
    with adapter_for(make_panel(fake)) as adapter:
        accounts = list(adapter.accounts())
    assert len(accounts) == count and len({a.name for a in accounts}) == count
    assert accounts[5].used_bytes == 5 and accounts[5].limit_bytes == GB and accounts[5].expires_at
    assert all(a.subscription_url.startswith(PUBLIC + "/sub/") for a in accounts)
    pages = fake.calls_to("/api/users")
    assert len(pages) == 5  # 4 full pages of 500 and one of 100
    assert [int(c.query["offset"][0]) for c in pages] == [0, 500, 1000, 1500, 2000]
    assert len(fake.calls) <= len(pages) + 2  # login and the probe
    if fake.flavor == "pasarguard":
        assert all(c.query["load_sub"] == ["true"] for c in pages)


def test_accounts_skips_a_user_the_shifted_offsets_hand_out_again(fake):
    """A user put before the ones read shifts the next page by one: its first user is the previous
    page's last, skipped (only the previous page's names are kept for that)."""
    for i in range(1200):
        fake.add_user(f"user_{i:04d}")
    with adapter_for(make_panel(fake)) as adapter:
        it = adapter.accounts()
        names = [next(it).name]
        fake.add_user("early")
        with fake.lock:  # the fake lists in insertion (id) order: put it first, as another order would
            fake._users = {"early": fake._users.pop("early"), **fake._users}
        names += [a.name for a in it]
    assert len(names) == len(set(names)) == 1200  # "early" is read by the next sync
    assert [int(c.query["offset"][0]) for c in fake.calls_to("/api/users")] == [0, 500, 1000]


def test_accounts_of_an_empty_panel_is_one_call(adapter, fake):
    assert list(adapter.accounts()) == []
    assert fake.count_calls("/api/users") == 1


# --- faults -----------------------------------------------------------------------------------------------------

def test_500_on_create_is_unavailable_and_nothing_was_done(adapter, fake):
    fake.fail_next("/api/user", "http500", method="POST")
    with pytest.raises(PanelUnavailable, match="500 Internal Server Error") as caught:
        adapter.create(spec())
    assert caught.value.retry
    assert adapter.get("alice") is None
    adapter.create(spec())


def test_502_from_nginx_is_unavailable_without_the_html(adapter, fake):
    adapter.create(spec())
    fake.fail_next("/alice", "http502", method="GET")
    with pytest.raises(PanelUnavailable) as caught:
        adapter.get("alice")
    assert "502 Bad Gateway" in str(caught.value) and "<" not in str(caught.value)


def test_timeout_after_the_write_is_unavailable_and_the_account_is_there(fake):
    fake.hold_seconds = 3
    with adapter_for(make_panel(fake, timeout=1)) as adapter:
        adapter.info()
        fake.fail_next("/api/user", "timeout_after_act", method="POST")
        with pytest.raises(PanelUnavailable, match="timed out"):
            adapter.create(spec())
        found = adapter.get("alice")
    assert found is not None and found.limit_bytes == 50 * GB


def test_a_timed_out_update_was_applied(fake):
    fake.hold_seconds = 3
    with adapter_for(make_panel(fake, timeout=1)) as adapter:
        adapter.create(spec())
        fake.fail_next("/api/user/", "timeout_after_act", method="PUT")
        with pytest.raises(PanelUnavailable):
            adapter.update(spec(limit=80 * GB))
        assert adapter.get("alice").limit_bytes == 80 * GB


def test_a_dropped_connection_is_unavailable(adapter, fake):
    adapter.create(spec())
    fake.fail_next("/api/user/", "drop", method="PUT")
    with pytest.raises(PanelUnavailable):
        adapter.update(spec(limit=80 * GB))
    assert adapter.get("alice").limit_bytes == 50 * GB  # dropped before acting
    assert adapter.update(spec(limit=80 * GB)).limit_bytes == 80 * GB


def test_a_500_after_the_revoke_was_done(adapter, fake):
    adapter.create(spec())
    fake.fail_next("/revoke_sub", "http500_after_act")
    with pytest.raises(PanelUnavailable):
        adapter.regenerate_link("alice")
    assert adapter.get("alice") is not None


def test_a_panel_that_is_down_and_back(adapter, fake):
    adapter.create(spec())
    fake.down = True
    with pytest.raises(PanelUnavailable):
        adapter.get("alice")
    with pytest.raises(PanelUnavailable):
        list(adapter.accounts())
    fake.down = False
    assert adapter.get("alice") is not None


def test_down_at_the_first_call(fake):
    fake.down = True
    with adapter_for(make_panel(fake)) as adapter, pytest.raises(PanelUnavailable):
        adapter.info()


# --- the panel's word ----------------------------------------------------------------------------------------------

def test_without_the_panels_job_an_expired_user_still_reads_active(adapter, fake):
    fake.enforce = False
    adapter.create(spec(days=1))
    fake.advance(2 * 86400)
    account = adapter.get("alice")
    assert account.status == "active" and account.enabled
    assert account.expires_at < datetime.fromtimestamp(fake.now(), UTC)


def test_last_online_and_usage_are_read(adapter, fake):
    adapter.create(spec())
    seen = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    fake.set_online("alice", seen)
    fake.set_usage("alice", 3 * GB)
    account = adapter.get("alice")
    assert account.last_online == seen and account.used_bytes == 3 * GB


@pytest.mark.parametrize("value,expected", [
    (None, None), (0, None), ("", None), ("garbage", None),
    (1767225600, datetime(2026, 1, 1, tzinfo=UTC)),
    (1767225600000, datetime(2026, 1, 1, tzinfo=UTC)),
    ("1767225600", datetime(2026, 1, 1, tzinfo=UTC)),
    ("2026-01-01T00:00:00", datetime(2026, 1, 1, tzinfo=UTC)),
    ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
    ("2026-01-01T03:30:00+03:30", datetime(2026, 1, 1, tzinfo=UTC)),
])
def test_times_in_every_form_the_panels_give(value, expected):
    assert _when(value) == expected
