"""The fake Marzban / PasarGuard panel answers like the real panels' code does (Marzban v0.8.4,
PasarGuard v5.2.1), driven with httpx the way an adapter would drive it."""

import base64
import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.fakes.marzban import FakeMarzban

BOTH = ["marzban", "pasarguard"]
GB = 1024**3


class Api:
    """A minimal client: form login, bearer token, JSON bodies."""

    def __init__(self, fake: FakeMarzban, timeout: float = 5.0):
        self.fake = fake
        self.http = httpx.Client(base_url=fake.url, timeout=timeout)
        self.token = None

    def login(self, password: str | None = None) -> httpx.Response:
        response = self.http.post("/api/admin/token", data={"username": self.fake.username,
                                                             "password": password or self.fake.password})
        if response.status_code == 200:
            self.token = response.json()["access_token"]
        return response

    def call(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.http.request(method, path, headers=headers, **kwargs)

    def create(self, username: str, **fields) -> httpx.Response:
        body = {"username": username, **fields}
        if self.fake.flavor == "marzban":
            body.setdefault("proxies", {"vless": {}})
            body.setdefault("inbounds", {})
        else:
            body.setdefault("group_ids", [self.fake.group_id])
        return self.call("POST", "/api/user", json=body)

    def get(self, username: str) -> httpx.Response:
        return self.call("GET", f"/api/user/{username}")

    def put(self, username: str, body) -> httpx.Response:
        return self.call("PUT", f"/api/user/{username}", json=body)


def make_panel(flavor: str, **kwargs) -> FakeMarzban:
    fake = FakeMarzban(flavor=flavor, **kwargs)
    fake.add_inbound("vless", "VLESS TCP REALITY", tls="reality", port=443)
    fake.add_inbound("vless", "VLESS WS", network="ws", port=8080)
    fake.add_inbound("vmess", "VMess TCP", port=8081)
    fake.group_id = fake.add_group("default", ["VLESS TCP REALITY", "VMess TCP"]) if flavor == "pasarguard" else None
    return fake


@pytest.fixture(params=BOTH)
def panel(request):
    fake = make_panel(request.param)
    yield fake
    fake.stop()


@pytest.fixture
def marzban():
    fake = make_panel("marzban")
    yield fake
    fake.stop()


@pytest.fixture
def pasarguard():
    fake = make_panel("pasarguard")
    yield fake
    fake.stop()


@pytest.fixture
def api(panel):
    client = Api(panel)
    client.login()
    return client


def logged_in(fake: FakeMarzban) -> Api:
    client = Api(fake)
    assert client.login().status_code == 200
    return client


# -- auth -------------------------------------------------------------------------------------------
def test_form_login_gives_a_bearer_jwt_and_a_wrong_password_is_401(panel):
    client = Api(panel)
    wrong = client.login(password="nope")
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Incorrect username or password"}
    assert wrong.headers["www-authenticate"] == "Bearer"
    good = client.login()
    assert good.status_code == 200
    assert good.json()["token_type"] == "bearer"
    assert good.json()["access_token"].startswith("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.")
    assert client.call("GET", "/api/system").status_code == 200


def test_login_wants_a_form_not_json(panel):
    response = httpx.post(f"{panel.url}/api/admin/token", json={"username": "admin", "password": "admin-pass"})
    assert response.status_code == 422
    assert response.json() == {"detail": {"username": "Field required", "password": "Field required"}}


@pytest.mark.parametrize("flavor, detail", [("marzban", "Not authenticated"), ("pasarguard", "Could not validate credentials")])
def test_no_token_is_401_in_each_panels_words(flavor, detail):
    fake = make_panel(flavor)
    try:
        response = httpx.get(f"{fake.url}/api/users")
        assert response.status_code == 401
        assert response.json() == {"detail": detail}
        bad = httpx.get(f"{fake.url}/api/users", headers={"Authorization": "Bearer not-a-token"})
        assert bad.status_code == 401 and bad.json() == {"detail": "Could not validate credentials"}
    finally:
        fake.stop()


def test_expired_tokens_are_401_until_the_client_logs_in_again(api, panel):
    assert api.call("GET", "/api/users").status_code == 200
    panel.expire_tokens()
    response = api.call("GET", "/api/users")
    assert response.status_code == 401
    assert response.json() == {"detail": "Could not validate credentials"}
    assert api.login().status_code == 200
    assert api.call("GET", "/api/users").status_code == 200


@pytest.mark.parametrize("flavor, still_valid_after", [("marzban", 0), ("pasarguard", 5)])
def test_tokens_live_token_minutes_by_the_panels_clock(flavor, still_valid_after):
    fake = make_panel(flavor, token_minutes=1)
    try:
        client = logged_in(fake)
        fake.advance(59)
        assert client.call("GET", "/api/inbounds").status_code == 200
        fake.advance(1 + still_valid_after / 2)  # PasarGuard decodes with leeway=5
        assert client.call("GET", "/api/inbounds").status_code == (200 if still_valid_after else 401)
        fake.advance(still_valid_after + 1)
        assert client.call("GET", "/api/inbounds").status_code == 401
    finally:
        fake.stop()


def test_the_token_is_a_jwt_whose_exp_a_client_can_read(panel):
    token = logged_in(panel).token
    body = token.split(".")[1]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload["sub"] == "admin" and payload["exp"] - payload["iat"] == 1440 * 60
    assert payload["access"] == ("sudo" if panel.flavor == "marzban" else "admin")


def test_pasarguard_api_keys_go_in_x_api_key_or_the_apikey_scheme(pasarguard):
    key = pasarguard.add_api_key()
    assert key.startswith("pg_key_")
    url = f"{pasarguard.url}/api/users"
    assert httpx.get(url, headers={"X-Api-Key": key}).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"ApiKey {key}"}).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert httpx.get(url, headers={"X-Api-Key": "pg_key_00000000-0000-4000-8000-000000000000"}).status_code == 401


# -- probing --------------------------------------------------------------------------------------
def test_system_tells_the_panel_and_its_version(marzban, pasarguard):
    mz = logged_in(marzban).call("GET", "/api/system").json()
    pg = logged_in(pasarguard).call("GET", "/api/system").json()
    assert mz["version"] == "0.8.4" and "users_active" in mz and "active_users" not in mz
    assert pg["version"] == "5.2.1" and "active_users" in pg and "uptime_seconds" in pg and "users_active" not in pg


def test_inbounds_grouped_by_protocol_on_marzban_a_list_of_tags_on_pasarguard(marzban, pasarguard):
    assert logged_in(marzban).call("GET", "/api/inbounds").json() == {
        "vless": [{"tag": "VLESS TCP REALITY", "protocol": "vless", "network": "tcp", "tls": "reality", "port": 443},
                  {"tag": "VLESS WS", "protocol": "vless", "network": "ws", "tls": "none", "port": 8080}],
        "vmess": [{"tag": "VMess TCP", "protocol": "vmess", "network": "tcp", "tls": "none", "port": 8081}]}
    pg = logged_in(pasarguard)
    assert pg.call("GET", "/api/inbounds").json() == ["VLESS TCP REALITY", "VLESS WS", "VMess TCP"]
    assert pg.call("GET", "/api/inbounds/details").json()[0] == {"tag": "VLESS TCP REALITY", "protocol": "vless", "network": "tcp"}


def test_a_version_can_be_set_for_the_probe():
    fake = FakeMarzban(flavor="pasarguard", version="3.0.2")
    try:
        assert logged_in(fake).call("GET", "/api/system").json()["version"] == "3.0.2"
    finally:
        fake.stop()


# -- create ----------------------------------------------------------------------------------------
def test_marzban_create_is_200_with_the_user_response(marzban):
    api = logged_in(marzban)
    expire = int(time.time()) + 30 * 86400
    response = api.create("alice", expire=expire, data_limit=50 * GB, data_limit_reset_strategy="month", note="tg:42")
    assert response.status_code == 200
    user = response.json()
    assert user["username"] == "alice" and user["status"] == "active"
    assert user["expire"] == expire and user["data_limit"] == 50 * GB and user["data_limit_reset_strategy"] == "month"
    assert user["used_traffic"] == 0 and user["lifetime_used_traffic"] == 0 and user["online_at"] is None
    assert set(user["proxies"]) == {"vless"} and user["proxies"]["vless"]["flow"] == ""
    assert user["inbounds"] == {"vless": ["VLESS TCP REALITY", "VLESS WS"]}
    assert user["links"][0].startswith(f"vless://{user['proxies']['vless']['id']}@")
    assert user["note"] == "tg:42" and user["admin"]["username"] == "admin"
    assert "T" in user["created_at"] and not user["created_at"].endswith("Z")  # naive UTC
    assert marzban.user("ALICE")["username"] == "alice"  # lookups ignore case


def test_marzban_unlimited_is_null_and_a_past_expire_is_still_active_until_the_job_runs(marzban):
    api = logged_in(marzban)
    user = api.create("bob", expire=0, data_limit=0).json()
    assert user["expire"] is None and user["data_limit"] is None
    past = api.create("carol", expire=int(time.time()) - 60).json()
    assert past["status"] == "active"
    assert api.get("carol").json()["status"] == "expired"


def test_pasarguard_create_is_201_with_id_groups_and_every_protocols_credentials(pasarguard):
    api = logged_in(pasarguard)
    response = api.create("alice", expire="2030-01-01T00:00:00+03:30", data_limit=0, note="tg:42")
    assert response.status_code == 201
    user = response.json()
    assert isinstance(user["id"], int) and user["group_ids"] == [pasarguard.group_id]
    assert user["expire"] == "2029-12-31T20:30:00Z" and user["data_limit"] == 0
    assert set(user["proxy_settings"]) == {"vmess", "vless", "trojan", "shadowsocks", "wireguard", "hysteria"}
    assert "links" not in user and "group_names" not in user and user["edit_at"] is None
    assert user["created_at"].endswith("Z")
    by_int = api.create("bob", expire=1893456000).json()
    assert by_int["expire"] == "2030-01-01T00:00:00Z"


def test_a_duplicate_is_409(api):
    assert api.create("alice").status_code in (200, 201)
    response = api.create("alice")
    assert response.status_code == 409
    assert response.json() == {"detail": "User already exists"}


def test_usernames_collide_ignoring_case_on_marzban_only(marzban, pasarguard):
    mz, pg = logged_in(marzban), logged_in(pasarguard)
    assert mz.create("Bob").status_code == 200
    assert mz.create("bob").status_code == 409
    assert pg.create("Bob").status_code == 201
    assert pg.create("bob").status_code == 201
    assert pg.get("BOB").status_code == 404


@pytest.mark.parametrize("username, message", [
    ("ab", "Value error, Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between."),
    ("a" * 33, "Value error, Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between."),
    ("ab.cd", "Value error, Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between."),
    ("bad name", "Value error, Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between."),
    ("юзер123", "Value error, Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between."),
])
def test_marzban_refuses_bad_usernames_with_its_422_shape(marzban, username, message):
    response = logged_in(marzban).create(username)
    assert response.status_code == 422
    assert response.json() == {"detail": {"username": message}}
    assert marzban.users() == []


@pytest.mark.parametrize("username, message", [
    ("ab", "Value error, Username only can be 3 to 128 characters."),
    ("a" * 129, "Value error, Username only can be 3 to 128 characters."),
    ("bad name", "Value error, Username can only contain alphanumeric characters, -, _, @, and ."),
    ("a..b", "Value error, Username cannot have consecutive special characters"),
])
def test_pasarguard_refuses_bad_usernames_with_its_422_shape(pasarguard, username, message):
    response = logged_in(pasarguard).create(username)
    assert response.status_code == 422
    assert response.json() == {"detail": {"username": message}}


@pytest.mark.parametrize("flavor, username", [("marzban", "abc.d"), ("marzban", "user_1@example.com"),
                                              ("marzban", "tg_123456789_1"), ("pasarguard", "a.b"),
                                              ("pasarguard", "x" * 128)])
def test_good_usernames_pass(flavor, username):
    fake = make_panel(flavor)
    try:
        assert logged_in(fake).create(username).status_code in (200, 201)
    finally:
        fake.stop()


def test_a_missing_username_is_field_required(api):
    response = api.call("POST", "/api/user", json={"proxies": {"vless": {}}, "group_ids": [1]})
    assert response.status_code == 422
    assert response.json()["detail"]["username"] == "Field required"


def test_marzban_400_for_a_protocol_without_inbounds(marzban):
    response = logged_in(marzban).create("alice", proxies={"trojan": {}})
    assert response.status_code == 400
    assert response.json() == {"detail": "Protocol trojan is disabled on your server"}
    assert marzban.user("alice") is None


def test_marzban_empty_proxies_is_422_but_omitted_proxies_creates_a_user_and_answers_500(marzban):
    api = logged_in(marzban)
    empty = api.call("POST", "/api/user", json={"username": "alice", "proxies": {}})
    assert empty.status_code == 422
    assert empty.json() == {"detail": {"proxies": "Value error, Each user needs at least one proxy"}}
    omitted = api.call("POST", "/api/user", json={"username": "bob"})
    assert omitted.status_code == 500 and omitted.text == "Internal Server Error"
    assert marzban.user("bob")["proxies"] == {}
    assert api.get("bob").status_code == 500
    assert api.call("GET", "/api/users").status_code == 500  # one such user breaks the list
    assert api.call("DELETE", "/api/user/bob").status_code == 200
    assert api.call("GET", "/api/users").status_code == 200


def test_marzban_inbounds_sent_default_to_all_omitted_to_none(marzban):
    api = logged_in(marzban)
    sent_empty = api.create("alice", proxies={"vless": {}, "vmess": {}}, inbounds={}).json()
    assert sent_empty["inbounds"] == {"vless": ["VLESS TCP REALITY", "VLESS WS"], "vmess": ["VMess TCP"]}
    chosen = api.create("bob", inbounds={"vless": ["VLESS WS"]}).json()
    assert chosen["inbounds"] == {"vless": ["VLESS WS"]}
    assert chosen["excluded_inbounds"] == {"vless": ["VLESS TCP REALITY"]}
    omitted = api.call("POST", "/api/user", json={"username": "carol", "proxies": {"vless": {}}}).json()
    assert omitted["inbounds"] == {"vless": []} and omitted["links"] == []
    unknown = api.create("dave", inbounds={"vless": ["nope"]})
    assert unknown.status_code == 422
    assert unknown.json() == {"detail": {"inbounds": "Value error, Inbound nope doesn't exist"}}


def test_marzban_new_inbounds_reach_existing_users(marzban):
    api = logged_in(marzban)
    api.create("alice")
    marzban.add_inbound("vless", "VLESS GRPC", network="grpc")
    assert api.get("alice").json()["inbounds"]["vless"] == ["VLESS TCP REALITY", "VLESS WS", "VLESS GRPC"]


def test_pasarguard_groups_are_listed_and_created(pasarguard):
    api = logged_in(pasarguard)
    listed = api.call("GET", "/api/groups").json()
    assert listed == {"groups": [{"name": "default", "inbound_tags": ["VLESS TCP REALITY", "VMess TCP"], "is_disabled": False,
                                  "id": pasarguard.group_id, "total_users": 0}], "total": 1}
    created = api.call("POST", "/api/group", json={"name": "ws-only", "inbound_tags": ["VLESS WS"]})
    assert created.status_code == 201 and created.json()["id"] == pasarguard.group_id + 1
    bad_tag = api.call("POST", "/api/group", json={"name": "broken", "inbound_tags": ["nope"]})
    assert bad_tag.status_code == 400 and bad_tag.json() == {"detail": "nope not found"}
    api.create("alice", group_ids=[pasarguard.group_id, created.json()["id"]])
    assert api.call("GET", "/api/groups").json()["groups"][1]["total_users"] == 1


def test_pasarguard_group_ids_empty_is_422_unknown_404_omitted_means_no_group(pasarguard):
    api = logged_in(pasarguard)
    empty = api.create("alice", group_ids=[])
    assert empty.status_code == 422
    assert empty.json() == {"detail": {"group_ids": "Value error, you must select at least one group"}}
    unknown = api.create("bob", group_ids=[99])
    assert unknown.status_code == 404 and unknown.json() == {"detail": "Group not found"}
    omitted = api.call("POST", "/api/user", json={"username": "carol"})
    assert omitted.status_code == 201 and omitted.json()["group_ids"] == []


def test_status_on_hold_needs_a_duration_and_no_expire(api):
    response = api.create("alice", status="on_hold")
    assert response.status_code == 422
    assert response.json() == {"detail": {"status": "Value error, User cannot be on hold without a valid on_hold_expire_duration."}}
    held = api.create("bob", status="on_hold", on_hold_expire_duration=7 * 86400)
    assert held.json()["status"] == "on_hold" and held.json()["expire"] is None


# -- subscription URL --------------------------------------------------------------------------
def test_subscription_url_is_relative_without_a_prefix(api):
    url = api.create("alice").json()["subscription_url"]
    assert url.startswith("/sub/") and len(url) > 20


@pytest.mark.parametrize("flavor", BOTH)
def test_subscription_url_is_absolute_with_a_prefix(flavor):
    fake = make_panel(flavor, subscription_prefix="https://sub.example.com/")
    try:
        url = logged_in(fake).create("alice").json()["subscription_url"]
        assert url.startswith("https://sub.example.com/sub/")
    finally:
        fake.stop()


def test_the_subscription_token_embeds_the_second_so_urls_change_between_answers(api, panel):
    first = api.create("alice").json()["subscription_url"]
    panel.advance(2)
    second = api.get("alice").json()["subscription_url"]
    assert first != second
    for url in (first, second):  # both still valid: only a revoke kills them
        assert httpx.get(f"{panel.url}{url}/info").status_code == 200


# -- modify -------------------------------------------------------------------------------------
def test_put_with_nulls_or_omitted_fields_leaves_them_unchanged(api):
    expire = int(time.time()) + 86400
    created = api.create("alice", expire=expire, data_limit=5 * GB, note="keep").json()
    response = api.put("alice", {"expire": None, "data_limit": None, "note": None, "data_limit_reset_strategy": None}
                       if api.fake.flavor == "pasarguard" else {"expire": None, "data_limit": None, "note": None})
    assert response.status_code == 200
    user = response.json()
    assert (user["expire"], user["data_limit"], user["note"]) == (created["expire"], created["data_limit"], "keep")
    changed = api.put("alice", {"data_limit": 10 * GB}).json()
    assert changed["data_limit"] == 10 * GB and changed["expire"] == created["expire"] and changed["note"] == "keep"
    credentials = "proxies" if api.fake.flavor == "marzban" else "proxy_settings"
    assert changed[credentials] == created[credentials]


def test_put_without_next_plan_deletes_it(api):
    api.create("alice", next_plan={"data_limit": GB, "expire": 0})
    assert api.get("alice").json()["next_plan"]["data_limit"] == GB
    assert api.put("alice", {"note": "x"}).json()["next_plan"] is None


def test_marzban_put_nulls_that_are_not_unchanged(marzban):
    api = logged_in(marzban)
    api.create("alice")
    assert api.put("alice", {"status": None}).json() == {"detail": {"status": "Input should be 'active', 'disabled' or 'on_hold'"}}
    assert api.put("alice", {"inbounds": None}).status_code == 422
    crash = api.put("alice", {"proxies": None})
    assert crash.status_code == 500 and crash.text == "Internal Server Error"


def test_marzban_put_inbounds_empty_removes_them_and_proxies_without_ids_get_new_credentials(marzban):
    api = logged_in(marzban)
    created = api.create("alice").json()
    assert api.put("alice", {"inbounds": {"vless": []}}).json()["inbounds"] == {"vless": []}  # on create [] means all
    assert api.put("alice", {"inbounds": {"vless": ["VLESS WS"]}}).json()["inbounds"] == {"vless": ["VLESS WS"]}
    rotated = api.put("alice", {"proxies": {"vless": {}}}).json()
    assert rotated["proxies"]["vless"]["id"] != created["proxies"]["vless"]["id"]
    kept = api.put("alice", {"proxies": {"vless": {"id": created["proxies"]["vless"]["id"]}, "vmess": {}}}).json()
    assert kept["proxies"]["vless"]["id"] == created["proxies"]["vless"]["id"] and set(kept["proxies"]) == {"vless", "vmess"}
    assert api.put("alice", {"proxies": {"trojan": {}}}).json() == {"detail": "Protocol trojan is disabled on your server"}


def test_put_extends_an_expired_user_back_to_active(api, panel):
    api.create("alice", expire=int(time.time()) + 10)
    panel.advance(20)
    assert api.get("alice").json()["status"] == "expired"
    extended = api.put("alice", {"expire": int(panel.now()) + 30 * 86400}).json()
    assert extended["status"] == "active"
    assert api.put("alice", {"expire": int(panel.now()) - 1}).json()["status"] == "expired"
    assert api.put("alice", {"expire": 0}).json()["status"] == "active"


def test_put_disable_and_enable(api):
    api.create("alice")
    assert api.put("alice", {"status": "disabled"}).json()["status"] == "disabled"
    assert api.put("alice", {"status": "active"}).json()["status"] == "active"
    bad = api.put("alice", {"status": "expired"})
    assert bad.status_code == 422


def test_put_on_a_missing_user_is_404(api):
    response = api.put("ghost", {"note": "x"})
    assert response.status_code == 404 and response.json() == {"detail": "User not found"}


def test_pasarguard_by_username_by_id_and_disabled_toggle(pasarguard):
    api = logged_in(pasarguard)
    user_id = api.create("alice", expire=int(time.time()) + 10).json()["id"]
    assert api.call("GET", "/api/user/by-username/alice").json()["id"] == user_id
    assert api.call("GET", f"/api/user/by-id/{user_id}").json()["username"] == "alice"
    assert api.call("GET", "/api/user/by-id/abc").json() == {
        "detail": {"user_id": "Input should be a valid integer, unable to parse string as an integer"}}
    off = api.call("PUT", f"/api/user/by-id/{user_id}/disabled", json={"disabled": True})
    assert off.status_code == 200 and off.json()["status"] == "disabled"
    pasarguard.advance(20)
    on = api.call("PUT", "/api/user/alice/disabled", json={"disabled": False})
    assert on.json()["status"] == "expired"  # enabling works out the status from expire and usage
    renamed = api.call("PUT", "/api/user/by-username/alice", json={"note": "via alias"})
    assert renamed.json()["note"] == "via alias"


def test_pasarguard_put_group_ids_empty_clears_the_groups(pasarguard):
    api = logged_in(pasarguard)
    api.create("alice")
    assert api.put("alice", {"group_ids": None}).json()["group_ids"] == [pasarguard.group_id]
    assert api.put("alice", {"group_ids": []}).json()["group_ids"] == []


def test_pasarguard_partial_proxy_settings_regenerate_the_rest(pasarguard):
    api = logged_in(pasarguard)
    before = api.create("alice").json()["proxy_settings"]
    after = api.put("alice", {"proxy_settings": {"vless": {"id": before["vless"]["id"]}}}).json()["proxy_settings"]
    assert after["vless"] == before["vless"] and after["vmess"] != before["vmess"]


# -- reset, revoke, delete ------------------------------------------------------------------------
def test_reset_zeroes_used_traffic_and_lifts_limited(api, panel):
    api.create("alice", data_limit=GB)
    panel.set_usage("alice", 2 * GB)
    assert api.get("alice").json()["status"] == "limited"
    reset = api.call("POST", "/api/user/alice/reset")
    assert reset.status_code == 200
    user = reset.json()
    assert user["used_traffic"] == 0 and user["lifetime_used_traffic"] == 2 * GB and user["status"] == "active"


@pytest.mark.parametrize("flavor, after_reset", [("marzban", "active"), ("pasarguard", "disabled")])
def test_reset_of_a_disabled_user(flavor, after_reset):
    fake = make_panel(flavor)
    try:
        api = logged_in(fake)
        api.create("alice")
        api.put("alice", {"status": "disabled"})
        assert api.call("POST", "/api/user/alice/reset").json()["status"] == after_reset
    finally:
        fake.stop()


def test_revoke_sub_gives_new_credentials_and_kills_old_links(api, panel):
    before = api.create("alice").json()
    old_url = before["subscription_url"]
    assert httpx.get(f"{panel.url}{old_url}/info").status_code == 200
    panel.advance(2)  # a link made in the same second as the revoke survives it (the token's time is ceil'ed)
    revoked = api.call("POST", "/api/user/alice/revoke_sub")
    assert revoked.status_code == 200
    after = revoked.json()
    credentials = "proxies" if panel.flavor == "marzban" else "proxy_settings"
    assert after[credentials]["vless"]["id"] != before[credentials]["vless"]["id"]
    assert after["subscription_url"] != old_url
    gone = httpx.get(f"{panel.url}{old_url}/info")
    assert gone.status_code == 404 and gone.json() == {"detail": "Not Found"}
    panel.advance(1)
    assert httpx.get(f"{panel.url}{after['subscription_url']}/info").json()["username"] == "alice"


@pytest.mark.parametrize("flavor, status, body", [("marzban", 200, {"detail": "User successfully deleted"}),
                                                  ("pasarguard", 204, None)])
def test_delete_answers_200_or_204(flavor, status, body):
    fake = make_panel(flavor)
    try:
        api = logged_in(fake)
        api.create("alice")
        response = api.call("DELETE", "/api/user/alice")
        assert response.status_code == status
        assert (response.json() if body else response.content) == (body or b"")
        assert api.get("alice").status_code == 404
        assert api.call("DELETE", "/api/user/alice").json() == {"detail": "User not found"}
    finally:
        fake.stop()


def test_next_plan_is_applied_on_request(api, panel):
    api.create("alice", data_limit=GB, next_plan={"data_limit": 5 * GB, "expire": 0, "add_remaining_traffic": False})
    path = "/api/user/alice/" + ("active-next" if panel.flavor == "marzban" else "active_next")
    user = api.call("POST", path).json()
    assert user["next_plan"] is None and user["status"] == "active" and user["used_traffic"] == 0
    assert api.call("POST", path).json() == {"detail": "User doesn't have next plan"}


# -- listing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("flavor", BOTH)
def test_paging_over_10000_users(flavor):
    fake = make_panel(flavor)
    try:
        for i in range(10_000):
            fake.add_user(f"user{i:05d}", data_limit=10 * GB)
        api = logged_in(fake)
        started = time.monotonic()
        seen, offset, limit = [], 0, 250
        while True:
            page = api.call("GET", "/api/users", params={"offset": offset, "limit": limit}).json()
            assert page["total"] == 10_000
            seen += [u["username"] for u in page["users"]]
            offset += limit
            if offset >= page["total"]:
                break
        assert seen == [f"user{i:05d}" for i in range(10_000)]
        assert time.monotonic() - started < 15
        assert len(api.call("GET", "/api/users", params={"offset": 9_990, "limit": 100}).json()["users"]) == 10
        assert len(api.call("GET", "/api/users", params={"limit": 0}).json()["users"]) == 10_000  # 0 = no limit
    finally:
        fake.stop()


def test_pasarguard_lists_subscription_urls_only_with_load_sub(pasarguard):
    api = logged_in(pasarguard)
    api.create("alice")
    assert api.call("GET", "/api/users").json()["users"][0]["subscription_url"] == ""
    assert api.call("GET", "/api/users", params={"load_sub": "true"}).json()["users"][0]["subscription_url"].startswith("/sub/")


def test_list_filters_and_sort(api, panel):
    for name in ("carol", "alice", "bob"):
        api.create(name)
    api.put("bob", {"status": "disabled"})
    assert [u["username"] for u in api.call("GET", "/api/users", params={"status": "disabled"}).json()["users"]] == ["bob"]
    assert [u["username"] for u in api.call("GET", "/api/users", params={"sort": "-username"}).json()["users"]] == \
        ["carol", "bob", "alice"]
    assert api.call("GET", "/api/users", params={"search": "ali"}).json()["total"] == 1
    assert api.call("GET", "/api/users", params={"limit": "many"}).status_code == 422
    assert api.call("GET", "/api/users", params={"sort": "color"}).status_code == 400


# -- the panel's own jobs --------------------------------------------------------------------------
def test_the_panel_expires_and_limits_users_itself(api, panel):
    api.create("alice", expire=int(panel.now()) + 10)
    api.create("bob", data_limit=GB)
    panel.advance(20)
    panel.set_usage("bob", GB)
    assert api.get("alice").json()["status"] == "expired"
    assert api.get("bob").json()["status"] == "limited"
    counts = api.call("GET", "/api/system").json()
    assert counts["users_expired" if panel.flavor == "marzban" else "expired_users"] == 1


def test_enforce_off_leaves_an_expired_user_active(api, panel):
    panel.enforce = False
    api.create("alice", expire=int(panel.now()) + 10)
    api.create("bob", data_limit=GB)
    panel.advance(20)
    panel.set_usage("bob", 2 * GB)
    assert api.get("alice").json()["status"] == "active"
    assert api.get("bob").json()["status"] == "active"
    assert [u["status"] for u in api.call("GET", "/api/users").json()["users"]] == ["active", "active"]
    assert panel.user("alice")["status"] == "active"
    panel.run_jobs()
    assert api.get("alice").json()["status"] == "expired"
    assert api.get("bob").json()["status"] == "limited"


@pytest.mark.parametrize("flavor, after_revoke", [("marzban", "expired"), ("pasarguard", "active")])
def test_with_the_job_off_marzbans_revoke_still_works_out_the_status(flavor, after_revoke):
    fake = make_panel(flavor)
    try:
        fake.enforce = False
        api = logged_in(fake)
        api.create("alice", expire=int(fake.now()) + 10)
        fake.advance(20)
        assert api.get("alice").json()["status"] == "active"
        assert api.call("POST", "/api/user/alice/revoke_sub").json()["status"] == after_revoke
    finally:
        fake.stop()


def test_on_hold_starts_when_the_user_comes_online(api, panel):
    api.create("alice", status="on_hold", on_hold_expire_duration=86400)
    panel.advance(5)
    assert api.get("alice").json()["status"] == "on_hold"
    panel.set_online("alice", datetime.fromtimestamp(panel.now(), UTC))
    user = api.get("alice").json()
    assert user["status"] == "active" and user["expire"] is not None and user["on_hold_expire_duration"] is None
    assert user["online_at"] is not None


def test_an_expiring_user_moves_to_its_next_plan_instead(api, panel):
    api.create("alice", expire=int(panel.now()) + 10,
               next_plan={"data_limit": 5 * GB, "expire": 0, **({"fire_on_either": True} if panel.flavor == "marzban" else {})})
    panel.advance(20)
    user = api.get("alice").json()
    assert user["status"] == "active" and user["next_plan"] is None
    assert user["expire"] == (0 if panel.flavor == "marzban" else None)  # Marzban copies the plan's expire as is


# -- faults ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, status, text", [("http500", 500, "Internal Server Error"), ("http502", 502, "502 Bad Gateway")])
def test_scripted_error_answers_do_nothing(api, panel, kind, status, text):
    panel.fail_next("/api/user", kind, method="POST")
    response = api.create("alice")
    assert response.status_code == status and text in response.text
    assert panel.user("alice") is None
    assert api.create("alice").status_code in (200, 201)  # times=1: the next call is fine


def test_drop_closes_the_connection_before_acting(api, panel):
    panel.fail_next("/api/user", "drop", method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        api.create("alice")
    assert panel.user("alice") is None


@pytest.mark.parametrize("kind", ["drop_after_act", "http500_after_act"])
def test_the_write_can_happen_before_the_answer_is_lost(api, panel, kind):
    panel.fail_next("/api/user", kind, method="POST")
    if kind == "drop_after_act":
        with pytest.raises(httpx.RemoteProtocolError):
            api.create("alice")
    else:
        assert api.create("alice").status_code == 500
    assert panel.user("alice")["username"] == "alice"
    assert api.create("alice").status_code == 409  # a blind retry finds it done


def test_timeout_after_act_does_the_write_and_holds_the_answer(panel):
    api = Api(panel, timeout=0.3)
    api.login()
    panel.hold_seconds = 2.0
    panel.fail_next("/api/user", "timeout_after_act", method="POST")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        api.create("alice")
    assert time.monotonic() - started < 1.5
    assert panel.user("alice")["username"] == "alice"


def test_fail_next_counts_times_and_matches_the_path(api, panel):
    api.create("alice")
    panel.fail_next("/reset", "http500", times=2)
    assert api.call("GET", "/api/user/alice").status_code == 200  # another path is not touched
    assert [api.call("POST", "/api/user/alice/reset").status_code for _ in range(3)] == [500, 500, 200]


def test_down_resets_every_connection_until_it_is_up(api, panel):
    panel.down = True
    with pytest.raises(httpx.TransportError):
        api.call("GET", "/api/users")
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{panel.url}/api/admin/token", data={"username": "admin", "password": "admin-pass"})
    panel.down = False
    assert api.call("GET", "/api/users").status_code == 200


def test_latency_slows_every_call(api, panel):
    panel.latency = 0.2
    started = time.monotonic()
    api.call("GET", "/api/users")
    assert time.monotonic() - started >= 0.2


# -- the fake's bookkeeping ------------------------------------------------------------------------
def test_calls_are_recorded_with_body_status_and_time(api, panel):
    api.create("alice", note="n")
    login, create = panel.calls[0], panel.calls[-1]
    assert (login.method, login.path, login.body["username"], login.status) == ("POST", "/api/admin/token", "admin", 200)
    assert (create.method, create.path, create.body["note"]) == ("POST", "/api/user", "n")
    assert create.status in (200, 201) and create.at >= login.at
    assert panel.count_calls("/api/user") == 1 and panel.count_calls("/api/admin/token", method="POST") == 1


def test_unknown_paths_methods_and_trailing_slashes_answer_like_starlette(api, panel):
    assert api.call("GET", "/api/nothing").json() == {"detail": "Not Found"}
    assert api.call("POST", "/api/users").json() == {"detail": "Method Not Allowed"}
    redirect = api.call("GET", "/api/users/")
    assert redirect.status_code == 307 and redirect.headers["location"] == f"{panel.url}/api/users"


def test_marzban_only_routes_are_404_on_pasarguard_and_back(marzban, pasarguard):
    mz, pg = logged_in(marzban), logged_in(pasarguard)
    assert mz.call("GET", "/api/groups").status_code == 404
    assert mz.call("GET", "/api/user/by-username/alice").status_code == 404
    pg.create("alice")
    assert pg.call("POST", "/api/user/alice/active-next").status_code == 404


def test_queries_show_the_api_view(panel):
    panel.add_user("alice", data_limit=GB, used_traffic=GB // 2)
    assert panel.user("alice")["used_traffic"] == GB // 2
    assert [u["username"] for u in panel.users()] == ["alice"]
    assert panel.user("ghost") is None
