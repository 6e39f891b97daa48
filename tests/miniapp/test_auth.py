"""Who may call /app/api/: the customer of a genuine, recent initData, and nobody else."""

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from miniapp.auth import InitDataError, verify_init_data
from tests.factories import CustomerFactory, PlanFactory
from tests.miniapp.conftest import MiniApp, init_data_for, telegram_user
from vpnbot.shop import services
from vpnbot.shop.models import Customer

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
NOW = 1_760_000_000


def _verify(raw, **kwargs):
    return verify_init_data(raw, bot_token=kwargs.pop("bot_token", TOKEN), max_age=kwargs.pop("max_age", 3600),
                            now=kwargs.pop("now", NOW))


def _tamper(raw: str, key: str, value: str) -> str:
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    fields[key] = value
    return urlencode(fields, quote_via=quote)


# --- the check itself -------------------------------------------------------------------------------------

def test_a_genuine_init_data_gives_its_fields_and_user():
    user = telegram_user(first_name="سارا")
    data = _verify(init_data_for(user, TOKEN, auth_date=NOW - 10, start_param="ref_abc"))
    assert data["user"] == user and data["auth_date"] == NOW - 10 and data["start_param"] == "ref_abc"
    assert "hash" not in data and data["signature"]


@pytest.mark.parametrize("mangle", [
    pytest.param(lambda raw: _tamper(raw, "hash", "0" * 64), id="forged hash"),
    pytest.param(lambda raw: _tamper(raw, "user", json.dumps({"id": 42, "first_name": "Eve"})), id="user changed"),
    pytest.param(lambda raw: _tamper(raw, "auth_date", str(NOW)), id="auth_date changed"),
    pytest.param(lambda raw: _tamper(raw, "signature", "x"), id="signature changed (it is under the hash)"),
    pytest.param(lambda raw: raw + "&start_param=ref_x", id="a field added"),
    pytest.param(lambda raw: raw + "&auth_date=" + str(NOW), id="a field twice"),
    pytest.param(lambda raw: "&".join(p for p in raw.split("&") if not p.startswith("hash=")), id="no hash"),
    pytest.param(lambda raw: "", id="empty"),
    pytest.param(lambda raw: raw + "&pad=" + "x" * 9000, id="oversized"),
])
def test_anything_changed_is_refused(mangle):
    raw = init_data_for(telegram_user(), TOKEN, auth_date=NOW - 10)
    _verify(raw)
    with pytest.raises(InitDataError):
        _verify(mangle(raw))


def test_another_bots_init_data_is_refused():
    with pytest.raises(InitDataError):
        _verify(init_data_for(telegram_user(), "999:other-bot", auth_date=NOW))


def test_age_limits():
    user = telegram_user()
    _verify(init_data_for(user, TOKEN, auth_date=NOW - 3600))
    with pytest.raises(InitDataError, match="expired"):
        _verify(init_data_for(user, TOKEN, auth_date=NOW - 3601))
    _verify(init_data_for(user, TOKEN, auth_date=NOW + 30))  # a client clock a little ahead
    with pytest.raises(InitDataError, match="future"):
        _verify(init_data_for(user, TOKEN, auth_date=NOW + 3600))


def _sign(fields: dict) -> str:
    """Signed as Telegram signs, whatever the fields hold."""
    lines = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    return urlencode({**fields, "hash": hmac.new(secret, lines.encode(), hashlib.sha256).hexdigest()}, quote_via=quote)


@pytest.mark.parametrize("user", [None, "not json", [1], {"first_name": "x"}, {"id": "5"}, {"id": True}, {"id": -3},
                                  {"id": 5, "is_bot": True}])
def test_a_signed_init_data_without_a_person_is_refused(user):
    fields = {"auth_date": str(NOW), "query_id": "q"}
    if user is not None:
        fields["user"] = user if isinstance(user, str) else json.dumps(user)
    with pytest.raises(InitDataError):
        _verify(_sign(fields))
    _verify(_sign({**fields, "user": json.dumps({"id": 5})}))  # the same, with a person


def test_no_bot_token_configured_refuses_everything():
    with pytest.raises(InitDataError):
        _verify(init_data_for(telegram_user(), "", auth_date=NOW), bot_token="")


# --- the API's door -------------------------------------------------------------------------------------

def test_a_valid_init_data_makes_the_customer_as_start_does(miniapp):
    assert not Customer.objects.filter(telegram_id=miniapp.user["id"]).exists()
    response = miniapp.get("me")
    assert response.status_code == 200, response.content
    customer = Customer.objects.get(telegram_id=miniapp.user["id"])
    assert (customer.first_name, customer.username, customer.telegram_language) == (
        "Sara", miniapp.user["username"], "en")
    assert customer.referral_code
    body = response.json()
    assert body["customer"]["id"] == customer.pk and body["language"] == "en" and body["rtl"] is False
    assert body["balance_amount"] == 0 and body["balance_display"] == "0 Toman"
    assert miniapp.get("me").status_code == 200
    assert Customer.objects.filter(telegram_id=miniapp.user["id"]).count() == 1


def test_names_are_kept_current(miniapp):
    miniapp.get("me")
    miniapp.user["first_name"] = "Sarah"
    miniapp.get("me")
    assert Customer.objects.get(telegram_id=miniapp.user["id"]).first_name == "Sarah"


def test_a_persian_customer_reads_persian(db, client, settings):
    app = MiniApp(client, settings, telegram_user(language_code="fa"))
    body = app.get("me").json()
    assert body["language"] == "fa" and body["rtl"] is True and "تومان" in body["balance_display"]


def _bad(client, **headers):
    return client.get("/app/api/me", **headers)


@pytest.mark.django_db
def test_missing_or_bad_init_data_is_401_with_the_scheme(client, settings):
    user = telegram_user()
    good = init_data_for(user, settings.TELEGRAM_BOT_TOKEN)
    cases = {
        "missing": {},
        "wrong scheme": {"HTTP_AUTHORIZATION": "Bearer " + good},
        "scheme only": {"HTTP_AUTHORIZATION": "tma"},
        "forged": {"HTTP_AUTHORIZATION": "tma " + _tamper(good, "hash", "f" * 64)},
        "someone else": {"HTTP_AUTHORIZATION": "tma " + _tamper(good, "user", json.dumps({**user, "id": 1}))},
        "expired": {"HTTP_AUTHORIZATION": "tma " + init_data_for(user, settings.TELEGRAM_BOT_TOKEN,
                                                                  auth_date=int(time.time()) - 86401)},
        "future": {"HTTP_AUTHORIZATION": "tma " + init_data_for(user, settings.TELEGRAM_BOT_TOKEN,
                                                                 auth_date=int(time.time()) + 3600)},
        "not utf-8": {"HTTP_AUTHORIZATION": b"tma \xff\xfe".decode("latin-1")},
    }
    for name, headers in cases.items():
        response = _bad(client, **headers)
        assert response.status_code == 401, (name, response.status_code)
        assert response["WWW-Authenticate"] == "tma", name
        assert set(response.json()) == {"detail"}, name
    assert not Customer.objects.filter(telegram_id=user["id"]).exists()


@pytest.mark.django_db
def test_the_age_limit_is_a_setting(client, settings):
    settings.MINIAPP_INITDATA_MAX_AGE = 60
    user = telegram_user()
    old = "tma " + init_data_for(user, settings.TELEGRAM_BOT_TOKEN, auth_date=int(time.time()) - 120)
    assert client.get("/app/api/me", HTTP_AUTHORIZATION=old).status_code == 401
    settings.MINIAPP_INITDATA_MAX_AGE = 600
    assert client.get("/app/api/me", HTTP_AUTHORIZATION=old).status_code == 200


@pytest.mark.django_db
def test_staff_credentials_do_not_open_the_mini_app_api(client, admin_client):
    staff = User.objects.create_user("ops", is_staff=True, is_superuser=True)
    token = Token.objects.create(user=staff).key
    assert client.get("/api/v1/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200  # the token works there
    assert client.get("/app/api/me", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert admin_client.get("/app/api/me").status_code == 401  # a staff session neither
    assert admin_client.put("/app/api/settings", {"language": "en"}, content_type="application/json").status_code == 401


def test_init_data_does_not_open_the_staff_api(miniapp):
    auth = miniapp.auth()
    miniapp.get("me")
    for path in ("/api/v1/", "/api/v1/customers/", "/api/v1/orders/"):
        response = miniapp.client.get(path, HTTP_AUTHORIZATION=auth)
        assert response.status_code in (401, 403), path
    response = miniapp.client.post("/api/v1/orders/", {}, content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code in (401, 403)


def test_switched_off_the_whole_api_is_404(miniapp, settings):
    settings.MINIAPP_ENABLED = False
    assert miniapp.get("me").status_code == 404
    assert miniapp.post("orders", {}).status_code == 404
    assert miniapp.client.get("/app/api/me").status_code == 404  # before asking who it is
    settings.MINIAPP_ENABLED = True
    assert miniapp.get("me").status_code == 200


def test_a_referral_start_param_links_the_inviter_as_start_does(miniapp):
    inviter = CustomerFactory(referral_code="friend01")
    assert miniapp.get("me", start_param="ref_friend01").status_code == 200
    assert miniapp.customer.referred_by_id == inviter.pk
    # an own code, an unknown one or a second inviter change nothing
    CustomerFactory(referral_code="friend02")
    miniapp.get("me", start_param="ref_friend02")
    assert miniapp.customer.referred_by_id == inviter.pk


def test_a_referral_is_not_applied_to_a_customer_who_bought(miniapp):
    CustomerFactory(referral_code="friend03")
    customer = miniapp.customer
    services.wallet_apply(customer_id=customer.pk, amount=500_000, reason="adjustment", source="seed-ref")
    services.order_checkout(customer_id=customer.pk, plan_id=PlanFactory().pk, quantity=1, idempotency_key="ref-bought")
    miniapp.get("me", start_param="ref_friend03")
    assert miniapp.customer.referred_by_id is None


def test_each_customer_is_throttled_on_their_own(miniapp, other, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "3/min"}}
    codes = [miniapp.get("me").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert other.get("me").status_code == 200
