"""The fake 3x-ui panel, driven over HTTP with httpx the way a real client (the adapter) would."""

import base64
import json
import threading
import time

import httpx
import pytest

from tests.fakes.xui import FakeXui

GB = 1024**3
DAY_MS = 86_400_000
UUID_A = "5f3c8e9a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
UUID_B = "0a0b0c0d-1111-4222-8333-944445555666"


@pytest.fixture
def make_fake():
    fakes = []

    def make(**kwargs) -> FakeXui:
        fake = FakeXui(**kwargs)
        fakes.append(fake)
        return fake

    yield make
    for fake in fakes:
        fake.stop()


@pytest.fixture
def fake(make_fake):
    return make_fake()


def http(fake: FakeXui, **kwargs) -> httpx.Client:
    return httpx.Client(base_url=fake.url + "/", timeout=kwargs.pop("timeout", 5), **kwargs)


def login(fake: FakeXui, **kwargs) -> httpx.Client:
    """Log in like a real client: on 3.0+ fetch the CSRF token first and send it with every POST."""
    client = http(fake, **kwargs)
    csrf = client.get("csrf-token")
    if csrf.status_code == 200:
        client.headers["X-CSRF-Token"] = csrf.json()["obj"]
    answer = client.post("login", data={"username": "admin", "password": "admin-pass"})
    assert answer.json()["success"] is True
    return client


def settings(*clients) -> str:
    return json.dumps({"clients": list(clients)})


def vless_client(email, uuid=UUID_A, **extra):
    return {"id": uuid, "flow": "", "email": email, "limitIp": 0, "totalGB": 50 * GB, "expiryTime": 0,
            "enable": True, "tgId": 0, "subId": f"sub-{email}", "comment": "", "reset": 0, **extra}


def add(client, inbound_id, *clients, as_json=False):
    payload = {"id": inbound_id, "settings": settings(*clients)}
    if as_json:
        return client.post("panel/api/inbounds/addClient", json=payload).json()
    return client.post("panel/api/inbounds/addClient", data=payload).json()


# -- login and sessions ------------------------------------------------------------------------------
def test_login_sets_the_3x_ui_cookie_on_the_base_path(fake):
    client = http(fake)
    answer = client.post("login", data={"username": "admin", "password": "admin-pass"})
    assert answer.status_code == 200
    assert answer.json() == {"success": True, "msg": " You have successfully logged into your account.", "obj": None}
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("3x-ui=") and "Path=/panel-x7Qd/" in cookie and "HttpOnly" in cookie
    assert fake.url.endswith("/panel-x7Qd")
    assert client.get("panel/api/inbounds/list").json()["success"] is True


def test_login_takes_json_too_and_refuses_a_wrong_password_with_success_false(fake):
    client = http(fake)
    wrong = client.post("login", json={"username": "admin", "password": "nope"})
    assert wrong.status_code == 200
    assert wrong.json() == {"success": False, "msg": "Invalid username or password or two-factor code.", "obj": None}
    assert "set-cookie" not in wrong.headers
    assert client.post("login", json={"username": "", "password": "x"}).json()["msg"] == "Username is required"
    assert client.post("login", json={"username": "admin", "password": "admin-pass"}).json()["success"] is True


def test_the_api_answers_404_without_a_session_and_after_the_sessions_expire(fake):
    anonymous = http(fake)
    for path in ("panel/api/inbounds/list", "panel/api/server/status"):
        answer = anonymous.get(path)
        assert answer.status_code == 404 and answer.content == b""
    assert anonymous.post("panel/api/inbounds/addClient", data={"id": 1}).status_code == 404
    client = login(fake)
    assert client.get("panel/api/inbounds/list").status_code == 200
    fake.expire_sessions()
    assert client.get("panel/api/inbounds/list").status_code == 404
    assert client.post("login", data={"username": "admin", "password": "admin-pass"}).json()["success"]
    assert client.get("panel/api/inbounds/list").status_code == 200


def test_before_2_8_4_the_api_redirected_or_answered_401_to_ajax(make_fake):
    fake = make_fake(version="2.8.3")
    anonymous = http(fake)
    answer = anonymous.get("panel/api/inbounds/list")
    assert answer.status_code == 307 and answer.headers["location"] == "/panel-x7Qd/"
    ajax = anonymous.get("panel/api/inbounds/list", headers={"X-Requested-With": "XMLHttpRequest"})
    assert ajax.status_code == 401
    assert ajax.json() == {"success": False, "msg": "Your session has expired, please log in again", "obj": None}


def test_paths_outside_the_base_path_are_404(fake):
    raw = httpx.Client(base_url=fake.url.rsplit("/", 1)[0], timeout=5)
    assert raw.post("/login", data={"username": "admin", "password": "admin-pass"}).status_code == 404
    assert raw.get("/panel/api/inbounds/list").status_code == 404


# -- clients on the 2.x line ----------------------------------------------------------------------------
def test_add_client_takes_settings_as_a_json_string_form_or_json(fake):
    inbound = fake.add_inbound("vless", port=443, remark="de-1")
    client = login(fake)
    answer = add(client, inbound, vless_client("alice", expiryTime=1_800_000_000_000))
    assert answer == {"success": True, "msg": "Inbound client(s) have been added.", "obj": None}
    assert add(client, inbound, vless_client("bob", uuid=UUID_B), as_json=True)["success"] is True

    listed = client.get("panel/api/inbounds/list").json()
    assert listed["success"] is True and listed["msg"] == ""
    (item,) = listed["obj"]
    assert isinstance(item["settings"], str) and isinstance(item["streamSettings"], str)
    stored = json.loads(item["settings"])["clients"]
    assert [c["email"] for c in stored] == ["alice", "bob"]
    assert stored[0]["totalGB"] == 50 * GB and stored[0]["expiryTime"] == 1_800_000_000_000  # bytes, unix ms
    assert stored[0]["created_at"] > 1_700_000_000_000 and "updated_at" in stored[0]
    assert item["settings"].startswith('{\n  "clients": [\n    {\n      "comment": "",\n      "created_at"')  # MarshalIndent, sorted keys
    stats = {s["email"]: s for s in item["clientStats"]}
    assert stats["alice"]["total"] == 50 * GB and stats["alice"]["expiryTime"] == 1_800_000_000_000
    assert stats["alice"]["uuid"] == UUID_A and stats["alice"]["subId"] == "sub-alice" and stats["alice"]["inboundId"] == inbound
    assert item["tag"] == "inbound-443" and item["protocol"] == "vless" and item["port"] == 443

    one = client.get(f"panel/api/inbounds/get/{inbound}").json()["obj"]
    assert one["clientStats"] is None and json.loads(one["settings"])["clients"][1]["email"] == "bob"
    assert fake.client("alice")["id"] == UUID_A and fake.traffic("bob")["total"] == 50 * GB


def test_settings_as_an_object_is_a_bind_error_on_2x(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    answer = client.post("panel/api/inbounds/addClient",
                         json={"id": inbound, "settings": {"clients": [vless_client("alice")]}}).json()
    assert answer["success"] is False
    assert answer["msg"] == ("Inbound has been successfully updated. (json: cannot unmarshal object into Go struct field "
                             "Inbound.settings of type string)")
    assert fake.client("alice") is None
    as_text = client.post("panel/api/inbounds/addClient", json={"id": str(inbound), "settings": settings()}).json()
    assert as_text["msg"] == ("Inbound has been successfully updated. (json: cannot unmarshal string into Go struct field "
                              "Inbound.id of type int)")


def test_email_is_unique_across_the_panel_case_insensitively(fake):
    first, second = fake.add_inbound("vless"), fake.add_inbound("trojan")
    client = login(fake)
    assert add(client, first, vless_client("Carol"))["success"] is True
    answer = add(client, second, {"password": "pw-carol", "email": "carol", "enable": True, "totalGB": 0, "expiryTime": 0})
    assert answer == {"success": False, "msg": "Something went wrong (Duplicate email: carol\n)", "obj": None}
    assert [c["email"] for c in fake.clients()] == ["Carol"]


def test_add_client_refuses_a_missing_id_and_an_unknown_inbound(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    no_id = add(client, inbound, {"email": "dave", "enable": True})
    assert no_id["msg"] == "Something went wrong (empty client ID\n)"
    assert add(client, 99, vless_client("dave"))["msg"] == "Something went wrong (record not found)"
    empty = client.post("panel/api/inbounds/addClient", data={"id": inbound}).json()
    assert empty["msg"] == "Something went wrong (unexpected end of JSON input)"
    no_clients_key = client.post("panel/api/inbounds/addClient", data={"id": inbound, "settings": "{}"})
    assert no_clients_key.status_code == 500  # the Go handler panics; gin recovers with an empty 500


def test_update_client_finds_vless_by_uuid_and_trojan_by_password(fake):
    vless, trojan = fake.add_inbound("vless"), fake.add_inbound("trojan")
    client = login(fake)
    add(client, vless, vless_client("erin"))
    add(client, trojan, {"password": "trojan-pw-1", "email": "frank", "enable": True, "totalGB": GB, "expiryTime": 0,
                         "subId": "sub-frank"})
    fake.set_usage("erin", up=100, down=2_000)

    changed = vless_client("erin", totalGB=200 * GB, expiryTime=1_900_000_000_000)
    answer = client.post(f"panel/api/inbounds/updateClient/{UUID_A}", data={"id": vless, "settings": settings(changed)})
    assert answer.json() == {"success": True, "msg": "Inbound client has been updated.", "obj": None}
    assert fake.client("erin")["totalGB"] == 200 * GB
    row = fake.traffic("erin")
    assert row["total"] == 200 * GB and row["expiryTime"] == 1_900_000_000_000 and (row["up"], row["down"]) == (100, 2_000)

    by_uuid_on_trojan = client.post(f"panel/api/inbounds/updateClient/{UUID_A}", data={
        "id": trojan, "settings": settings({"password": "trojan-pw-2", "email": "frank", "enable": True})}).json()
    assert by_uuid_on_trojan["msg"] == "Something went wrong (empty client ID\n)"  # a clientId it cannot find
    renamed = client.post("panel/api/inbounds/updateClient/trojan-pw-1", data={
        "id": trojan, "settings": settings({"password": "trojan-pw-2", "email": "frank2", "enable": False,
                                            "totalGB": 3 * GB, "expiryTime": 0, "subId": "sub-frank"})}).json()
    assert renamed["success"] is True
    assert fake.client("frank") is None and fake.client("frank2")["password"] == "trojan-pw-2"
    assert fake.traffic("frank") is None and fake.traffic("frank2")["enable"] is False
    taken = client.post("panel/api/inbounds/updateClient/trojan-pw-2", data={
        "id": trojan, "settings": settings({"password": "trojan-pw-2", "email": "erin", "enable": True})}).json()
    assert taken["msg"] == "Something went wrong (Duplicate email: erin\n)"


def test_shadowsocks_clients_are_addressed_by_email(fake):
    inbound = fake.add_inbound("shadowsocks")
    client = login(fake)
    add(client, inbound, {"password": base64.b64encode(b"k" * 32).decode(), "email": "gina", "enable": True},
        {"password": base64.b64encode(b"j" * 32).decode(), "email": "hank", "enable": True})
    answer = client.post(f"panel/api/inbounds/{inbound}/delClient/gina").json()
    assert answer == {"success": True, "msg": "Inbound client has been deleted.", "obj": None}
    assert fake.client("gina") is None and fake.traffic("gina") is None and fake.client("hank")


def test_delete_quirks_unknown_id_succeeds_and_the_last_client_stays(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    add(client, inbound, vless_client("ivan"), vless_client("judy", uuid=UUID_B))
    unknown = client.post(f"panel/api/inbounds/{inbound}/delClient/00000000-0000-0000-0000-000000000000").json()
    assert unknown["success"] is True and len(fake.clients()) == 2
    assert client.post(f"panel/api/inbounds/{inbound}/delClient/{UUID_A}").json()["success"] is True
    last = client.post(f"panel/api/inbounds/{inbound}/delClient/{UUID_B}").json()
    assert last == {"success": False, "msg": "Something went wrong (no client remained in Inbound\n)", "obj": None}
    assert fake.client("judy") is not None


def test_del_client_by_email(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    add(client, inbound, vless_client("kate"), vless_client("liam", uuid=UUID_B))
    assert client.post(f"panel/api/inbounds/{inbound}/delClientByEmail/kate").json() == {
        "success": True, "msg": "Client deleted successfully", "obj": None}
    missing = client.post(f"panel/api/inbounds/{inbound}/delClientByEmail/kate").json()
    assert missing["msg"] == "Failed to delete client by email (client with email kate not found\n)"
    assert fake.traffic("kate") is None


def test_get_client_traffics_for_an_unknown_email_depends_on_the_version(make_fake):
    current = make_fake(version="2.9.2")
    answer = login(current).get("panel/api/inbounds/getClientTraffics/nobody").json()
    assert answer == {"success": False, "msg": "Error getting traffics. (Inbound Not Found For Email: nobody\n)", "obj": None}
    old = make_fake(version="2.8.0")
    assert login(old).get("panel/api/inbounds/getClientTraffics/nobody").json() == {"success": True, "msg": "", "obj": None}
    new = make_fake(version="3.6.0")
    assert login(new).get("panel/api/clients/traffic/nobody").json() == {"success": True, "msg": "", "obj": None}


def test_traffic_units_are_bytes_and_milliseconds(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    add(client, inbound, vless_client("mona", totalGB=30 * GB, expiryTime=-30 * DAY_MS))
    fake.set_usage("mona", up=5 * GB, down=7 * GB)
    fake.set_last_online("mona", 1_790_000_000_000)
    row = client.get("panel/api/inbounds/getClientTraffics/mona").json()["obj"]
    assert (row["up"], row["down"], row["total"]) == (5 * GB, 7 * GB, 30 * GB)
    assert row["lastOnline"] == 1_790_000_000_000
    # a negative expiry ("start on first use") starts with the first traffic, in ms
    assert abs(row["expiryTime"] - (time.time() * 1000 + 30 * DAY_MS)) < 60_000
    assert fake.client("mona")["expiryTime"] == row["expiryTime"]
    by_id = client.get(f"panel/api/inbounds/getClientTrafficsById/{UUID_A}").json()["obj"]
    assert [r["email"] for r in by_id] == ["mona"] and by_id[0]["uuid"] == UUID_A
    assert client.get("panel/api/inbounds/getClientTrafficsById/none").json()["obj"] == []
    assert client.post("panel/api/inbounds/lastOnline").json()["obj"] == {"mona": 1_790_000_000_000}
    fake.set_online(["mona"])
    assert client.post("panel/api/inbounds/onlines").json()["obj"] == ["mona"]
    reset = client.post(f"panel/api/inbounds/{inbound}/resetClientTraffic/mona").json()
    assert reset == {"success": True, "msg": "Traffic has been reset.", "obj": None}
    assert (fake.traffic("mona")["up"], fake.traffic("mona")["down"]) == (0, 0)
    status = client.get("panel/api/server/status").json()["obj"]
    assert "panelVersion" not in status and status["xray"]["state"] == "running"


# -- the subscription server -------------------------------------------------------------------------------
def test_subscription_answers_base64_links_and_the_userinfo_header(fake):
    inbound = fake.add_inbound("vless", port=8443, remark="nl")
    client = login(fake)
    add(client, inbound, vless_client("nina", expiryTime=1_800_000_000_000, subId="nina-sub"))
    fake.set_usage("nina", up=1_000, down=2_000)
    answer = httpx.get(fake.sub_url + "nina-sub", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["subscription-userinfo"] == f"upload=1000; download=2000; total={50 * GB}; expire=1800000000"
    assert answer.headers["profile-update-interval"] == "12"
    links = base64.b64decode(answer.content).decode().splitlines()
    assert links == [f"vless://{UUID_A}@127.0.0.1:8443?type=tcp&security=none&encryption=none#nl-nina"]
    unknown = httpx.get(fake.sub_url + "nope", timeout=5)
    assert (unknown.status_code, unknown.text) == (400, "Error!")
    assert fake.count_calls("/sub/") == 2


def test_a_disabled_client_has_no_subscription(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    add(client, inbound, vless_client("olga", enable=False, subId="olga-sub"), vless_client("pete", uuid=UUID_B))
    assert httpx.get(fake.sub_url + "olga-sub", timeout=5).status_code == 400


# -- faults ------------------------------------------------------------------------------------------------
def test_success_false_fault_does_nothing(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    fake.fail_next("addClient", "success_false", msg="Something went wrong (database is locked)")
    answer = add(client, inbound, vless_client("quinn"))
    assert answer == {"success": False, "msg": "Something went wrong (database is locked)", "obj": None}
    assert fake.client("quinn") is None
    assert add(client, inbound, vless_client("quinn"))["success"] is True


def test_http500_fault_does_nothing(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    fake.fail_next("addClient", "http500", times=2)
    for _ in range(2):
        answer = client.post("panel/api/inbounds/addClient", data={"id": inbound, "settings": settings(vless_client("rita"))})
        assert answer.status_code == 500 and answer.content == b""
    assert fake.client("rita") is None and fake.count_calls("addClient") == 2


def test_timeout_after_act_does_the_write_and_never_answers(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake, timeout=0.3)
    fake.hold_seconds = 1.0
    fake.fail_next("addClient", "timeout_after_act")
    with pytest.raises(httpx.ReadTimeout):
        add(client, inbound, vless_client("sam"))
    assert fake.client("sam") is not None  # done, though the client never heard
    retried = add(client, inbound, vless_client("sam"))
    assert retried["msg"] == "Something went wrong (Duplicate email: sam\n)"


def test_drop_closes_the_connection_before_acting(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    fake.fail_next("addClient", "drop")
    with pytest.raises(httpx.TransportError):
        add(client, inbound, vless_client("tina"))
    assert fake.client("tina") is None
    assert add(client, inbound, vless_client("tina"))["success"] is True


def test_empty_fault_acts_and_answers_an_empty_200(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    fake.fail_next("addClient", "empty")
    answer = client.post("panel/api/inbounds/addClient", data={"id": inbound, "settings": settings(vless_client("ugo"))})
    assert answer.status_code == 200 and answer.content == b""
    assert fake.client("ugo") is not None


def test_down_refuses_connections_until_it_is_up_again(fake):
    client = login(fake)
    fake.down = True
    with pytest.raises(httpx.ConnectError):
        client.get("panel/api/inbounds/list")
    with pytest.raises(httpx.ConnectError):
        httpx.get(fake.sub_url + "x", timeout=2)
    fake.down = False
    assert client.get("panel/api/inbounds/list").json()["success"] is True  # the signed session survives


def test_latency_is_added_to_every_call(fake):
    client = login(fake)
    fake.latency = 0.2
    started = time.monotonic()
    client.get("panel/api/inbounds/list")
    assert time.monotonic() - started >= 0.2


def test_calls_are_recorded_with_the_parsed_body(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    add(client, inbound, vless_client("vera"), as_json=True)
    (call,) = fake.calls_to("addClient")
    assert call.method == "POST" and call.path == "/panel/api/inbounds/addClient"
    assert call.body["id"] == inbound and json.loads(call.body["settings"])["clients"][0]["email"] == "vera"
    assert call.at <= time.monotonic()
    login_call = fake.calls_to("/login")[0]
    assert login_call.body == {"username": "admin", "password": "admin-pass"}
    assert fake.count_calls("addClient") == 1 and fake.count_calls("") == len(fake.calls)


def test_parallel_adds_all_land_once(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    results = []

    def worker(n):
        results.append(add(client, inbound, vless_client(f"user{n}", uuid=f"00000000-0000-4000-8000-{n:012d}"))["success"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 40 and len(fake.clients()) == 40


# -- 3.0.x: old routes, new auth ----------------------------------------------------------------------------
def test_3_0_keeps_the_inbound_routes_but_needs_csrf(make_fake):
    fake = make_fake(version="3.0.2", api_token="tok-3.0")
    inbound = fake.add_inbound("vless")
    client = http(fake)
    assert client.post("login", data={"username": "admin", "password": "admin-pass"}).status_code == 403
    client = login(fake)
    assert add(client, inbound, vless_client("wade"))["success"] is True
    no_csrf = client.post("panel/api/inbounds/addClient", data={"id": inbound, "settings": settings(vless_client("x"))},
                          headers={"X-CSRF-Token": ""})
    assert no_csrf.status_code == 403
    bearer = httpx.Client(base_url=fake.url + "/", headers={"Authorization": "Bearer tok-3.0"}, timeout=5)
    assert add(bearer, inbound, vless_client("xena", uuid=UUID_B))["success"] is True
    assert "panelVersion" not in bearer.get("panel/api/server/status").json()["obj"]


def test_3_0_accepts_a_duplicate_email_with_the_same_sub_id(make_fake):
    """Issue #4438 (3.0.2): the same email goes in twice when the subId matches the existing one."""
    fake = make_fake(version="3.0.2")
    assert fake.duplicate_email_bug is True
    inbound = fake.add_inbound("vless")
    client = login(fake)
    assert add(client, inbound, vless_client("yuri", subId="same"))["success"] is True
    assert add(client, inbound, vless_client("yuri", uuid=UUID_B, subId="same"))["success"] is True
    assert [c["email"] for c in fake.clients()] == ["yuri", "yuri"]
    refused = add(client, inbound, vless_client("yuri", subId="other"))
    assert refused["msg"] == "Something went wrong (Duplicate email: yuri\n)"


def test_the_duplicate_email_bug_is_a_knob_elsewhere(fake):
    inbound = fake.add_inbound("vless")
    client = login(fake)
    add(client, inbound, vless_client("zoe", subId="s"))
    assert add(client, inbound, vless_client("zoe", subId="s"))["success"] is False
    fake.duplicate_email_bug = True
    assert add(client, inbound, vless_client("zoe", subId="s"))["success"] is True


# -- 3.1+ -----------------------------------------------------------------------------------------------------
@pytest.fixture
def v3(make_fake):
    return make_fake(version="3.6.0", api_token="tok-abc")


def bearer(fake, token="tok-abc") -> httpx.Client:
    return httpx.Client(base_url=fake.url + "/", headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_3x_old_client_routes_are_gone(v3):
    inbound = v3.add_inbound("vless")
    client = bearer(v3)
    assert add_status(client, inbound) == 404
    assert client.get("panel/api/inbounds/getClientTraffics/a").status_code == 404
    assert client.post(f"panel/api/inbounds/{inbound}/delClient/x").status_code == 404
    assert client.get("panel/api/inbounds/list").json()["success"] is True


def add_status(client, inbound):
    return client.post("panel/api/inbounds/addClient", data={"id": inbound, "settings": settings()}).status_code


def test_3x_bearer_token_works_and_a_wrong_one_is_404(v3):
    assert bearer(v3).get("panel/api/clients/list").json() == {"success": True, "msg": "", "obj": []}
    assert bearer(v3, "wrong").get("panel/api/clients/list").status_code == 404
    ajax = httpx.get(v3.url + "/panel/api/clients/list", headers={"X-Requested-With": "XMLHttpRequest"}, timeout=5)
    assert ajax.status_code == 401 and ajax.content == b""
    v3.revoke_api_tokens()
    assert bearer(v3).get("panel/api/clients/list").status_code == 404


def test_3x_cookie_posts_need_the_csrf_token(v3):
    inbound = v3.add_inbound("vless")
    anonymous = http(v3)
    assert anonymous.post("login", data={"username": "admin", "password": "admin-pass"}).status_code == 403
    token = anonymous.get("csrf-token").json()
    assert token["success"] is True and len(token["obj"]) > 20
    body = {"client": {"email": "amy", "totalGB": 10 * GB, "expiryTime": 0}, "inboundIds": [inbound]}
    refused = anonymous.post("login", data={"username": "admin", "password": "admin-pass", "_csrf": "bad"})
    assert refused.status_code == 403
    ok = anonymous.post("login", data={"username": "admin", "password": "admin-pass", "_csrf": token["obj"]})
    assert ok.json()["success"] is True
    assert anonymous.post("panel/api/clients/add", json=body).status_code == 403
    assert v3.client("amy") is None
    answer = anonymous.post("panel/api/clients/add", json=body, headers={"X-CSRF-Token": token["obj"]})
    assert answer.json() == {"success": True, "msg": "Inbound client(s) have been added.", "obj": None}
    assert anonymous.get("panel/api/clients/get/amy").json()["success"] is True  # GETs need no token
    v3.expire_sessions()
    assert anonymous.get("panel/api/clients/list").status_code == 404


def test_3x_add_get_update_delete(v3):
    vless = v3.add_inbound("vless", stream_settings={"network": "tcp", "security": "reality", "realitySettings": {
        "serverNames": ["www.example.com"], "shortIds": ["ab12"], "settings": {"publicKey": "PBK", "fingerprint": "chrome"}}})
    trojan = v3.add_inbound("trojan")
    client = bearer(v3)
    body = {"client": {"email": "ben", "totalGB": 20 * GB, "expiryTime": 1_800_000_000_000, "flow": "xtls-rprx-vision",
                       "tgId": 42, "enable": False}, "inboundIds": [vless, trojan]}
    assert client.post("panel/api/clients/add", json=body).json()["success"] is True
    got = client.get("panel/api/clients/get/ben").json()["obj"]
    record = got["client"]
    assert got["inboundIds"] == [vless, trojan] and got["usedTraffic"] == 0
    assert record["enable"] is True  # forced on create
    assert record["totalGB"] == 20 * GB and record["expiryTime"] == 1_800_000_000_000
    assert len(record["uuid"]) == 36 and isinstance(record["id"], int) and len(record["password"]) == 32
    assert record["subId"] and v3.client_inbounds("ben") == [vless, trojan]
    on_trojan = [c for c in v3.clients() if c["_inboundId"] == trojan][0]
    assert "flow" not in on_trojan and on_trojan["password"] == record["password"]

    again = client.post("panel/api/clients/add", json={"client": {"email": "ben"}, "inboundIds": [vless]}).json()
    assert again["msg"] == "Something went wrong (email already in use: ben\n)"
    bad = client.post("panel/api/clients/add", json={"client": {"email": "a b"}, "inboundIds": [vless]}).json()
    assert bad["msg"] == "Something went wrong (client email contains an invalid character: a b\n)"
    none = client.post("panel/api/clients/add", json={"client": {"email": "c"}, "inboundIds": []}).json()
    assert none["msg"] == "Something went wrong (at least one inbound is required\n)"

    v3.set_usage("ben", up=GB, down=GB)
    partial = client.post("panel/api/clients/update/ben", json={"email": "ben", "comment": "vip"}).json()
    assert partial == {"success": True, "msg": "Inbound client has been updated.", "obj": None}
    after = client.get("panel/api/clients/get/ben").json()["obj"]["client"]
    # the body replaces the client: omitted totalGB/expiryTime/enable become 0/0/false; credentials stay
    assert (after["totalGB"], after["expiryTime"], after["enable"], after["flow"]) == (0, 0, False, "")
    assert after["uuid"] == record["uuid"] and after["subId"] == record["subId"] and after["comment"] == "vip"
    assert v3.traffic("ben")["up"] == GB

    echoed = client.post("panel/api/clients/update/ben", json=after).json()  # "id" is the row number here, not the UUID
    assert echoed["msg"] == "Something went wrong (json: cannot unmarshal number into Go struct field Client.id of type string)"
    full = dict(after, email="ben2", totalGB=40 * GB, expiryTime=1_900_000_000_000, enable=True, id=after["uuid"],
                flow="xtls-rprx-vision")
    assert client.post("panel/api/clients/update/ben", json=full).json()["success"] is True
    assert client.get("panel/api/clients/get/ben").json() == {"success": False, "msg": "Obtain (record not found)", "obj": None}
    renamed = client.get("panel/api/clients/traffic/ben2").json()["obj"]
    assert renamed["total"] == 40 * GB and renamed["up"] == GB and renamed["uuid"] == record["uuid"]

    links = client.get("panel/api/clients/links/ben2").json()["obj"]
    assert links[0].startswith(f"vless://{record['uuid']}@") and "security=reality" in links[0] and "flow=xtls-rprx-vision" in links[0]
    assert links[1].startswith(f"trojan://{record['password']}@")
    assert client.get(f"panel/api/clients/subLinks/{record['subId']}").json()["obj"] == links

    assert client.post("panel/api/clients/del/ben2").json() == {"success": True, "msg": "Inbound client has been deleted.",
                                                                 "obj": None}
    assert v3.client("ben2") is None and v3.traffic("ben2") is None
    gone = client.post("panel/api/clients/del/ben2").json()
    assert gone["msg"] == 'Something went wrong (client "ben2" not found in any inbound or client record\n)'


def test_3x_list_pages_attach_and_detach(v3):
    first, second = v3.add_inbound("vless"), v3.add_inbound("vmess")
    client = bearer(v3)
    for n in range(30):
        assert client.post("panel/api/clients/add", json={"client": {"email": f"p{n:02d}", "tgId": 7 if n == 3 else 0},
                                                          "inboundIds": [first]}).json()["success"]
    everything = client.get("panel/api/clients/list").json()["obj"]
    assert [c["email"] for c in everything] == [f"p{n:02d}" for n in range(30)]
    assert everything[0]["inboundIds"] == [first] and everything[0]["traffic"]["email"] == "p00"
    page = client.get("panel/api/clients/list/paged", params={"page": 2, "pageSize": 25}).json()["obj"]
    assert (page["total"], page["filtered"], page["page"], page["pageSize"]) == (30, 30, 2, 25)
    assert [i["email"] for i in page["items"]] == [f"p{n:02d}" for n in range(25, 30)]
    capped = client.get("panel/api/clients/list/paged", params={"pageSize": 1000}).json()["obj"]
    assert capped["pageSize"] == 200
    found = client.get("panel/api/clients/list/paged", params={"search": "p1"}).json()["obj"]
    assert found["filtered"] == 10
    assert [p["client"]["email"] for p in client.get("panel/api/clients/get/tgId/7").json()["obj"]] == ["p03"]

    assert client.post("panel/api/clients/p01/attach", json={"inboundIds": [second]}).json()["success"]
    assert v3.client_inbounds("p01") == [first, second]
    assert client.post("panel/api/clients/p01/detach", json={"inboundIds": [first]}).json()["success"]
    assert v3.client_inbounds("p01") == [second]


def test_3x_list_emits_settings_as_objects_and_status_names_the_panel_version(v3):
    inbound = v3.add_inbound("vless")
    client = bearer(v3)
    client.post("panel/api/clients/add", json={"client": {"email": "cy"}, "inboundIds": [inbound]})
    (item,) = client.get("panel/api/inbounds/list").json()["obj"]
    assert isinstance(item["settings"], dict) and item["settings"]["clients"][0]["email"] == "cy"
    assert isinstance(item["streamSettings"], dict)
    assert client.get("panel/api/server/status").json()["obj"]["panelVersion"] == "3.6.0"
    assert httpx.get(v3.sub_url + "nothing", timeout=5).status_code == 404


def test_3x_login_is_rate_limited(v3):
    client = http(v3)
    client.headers["X-CSRF-Token"] = client.get("csrf-token").json()["obj"]
    for _ in range(5):
        assert client.post("login", data={"username": "admin", "password": "bad"}).json()["success"] is False
    blocked = client.post("login", data={"username": "admin", "password": "admin-pass"}).json()
    assert blocked == {"success": False, "msg": "Invalid username or password or two-factor code.", "obj": None}
    v3.reset_login_limiter()
    assert client.post("login", data={"username": "admin", "password": "admin-pass"}).json()["success"] is True


# -- telling the lines apart --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "csrf_route", "has_panel_version", "clients_api"), [
    ("2.6.7", 404, False, False), ("2.9.2", 404, False, False), ("3.0.2", 200, False, False), ("3.1.0", 200, True, True),
    ("3.6.0", 200, True, True)])
def test_the_version_probe(make_fake, version, csrf_route, has_panel_version, clients_api):
    fake = make_fake(version=version)
    assert http(fake).get("csrf-token").status_code == csrf_route
    client = login(fake)
    if fake.v >= (2, 7, 0):
        status = client.get("panel/api/server/status").json()["obj"]
        assert ("panelVersion" in status) is has_panel_version
    assert (client.get("panel/api/clients/list").status_code == 200) is clients_api
    assert fake.line == ("3.1+" if clients_api else "2.x")


def test_the_login_page_names_the_version_up_to_3_0(make_fake):
    assert "custom.min.css?2.9.2" in http(make_fake(version="2.9.2")).get("").text
    assert '__X_UI_CUR_VER__="3.0.2"' in http(make_fake(version="3.0.2")).get("").text
    page = http(make_fake(version="3.6.0")).get("").text
    assert "3.6.0" not in page and 'name="csrf-token"' in page


def test_older_panels_call_the_cookie_session(make_fake):
    fake = make_fake(version="2.3.0")
    answer = http(fake).post("login", data={"username": "admin", "password": "admin-pass"})
    assert answer.headers["set-cookie"].startswith("session=")


# -- scale --------------------------------------------------------------------------------------------------------
def test_ten_thousand_clients_list_quickly(fake):
    inbound = fake.add_inbound("vless")
    fake.add_clients(inbound, [{"email": f"user{n}@shop", "totalGB": 10 * GB, "expiryTime": 1_800_000_000_000, "tgId": n}
                               for n in range(10_000)])
    client = login(fake, timeout=30)
    started = time.monotonic()
    listed = client.get("panel/api/inbounds/list").json()["obj"]
    first = time.monotonic() - started
    stored = json.loads(listed[0]["settings"])["clients"]
    assert len(stored) == 10_000 and len(listed[0]["clientStats"]) == 10_000
    started = time.monotonic()
    client.get("panel/api/inbounds/list")
    again = time.monotonic() - started
    assert first < 5 and again < 2
    assert add(client, inbound, vless_client("user5@shop"))["msg"] == "Something went wrong (Duplicate email: user5@shop\n)"


def test_ten_thousand_clients_on_3x(v3):
    inbound = v3.add_inbound("vless")
    v3.add_clients(inbound, [{"email": f"user{n}", "totalGB": GB} for n in range(10_000)])
    client = bearer(v3)
    client.timeout = httpx.Timeout(30)
    started = time.monotonic()
    assert len(client.get("panel/api/clients/list").json()["obj"]) == 10_000
    assert time.monotonic() - started < 5
    page = client.get("panel/api/clients/list/paged", params={"page": 50, "pageSize": 200}).json()["obj"]
    assert page["total"] == 10_000 and page["items"][-1]["email"] == "user9999"
