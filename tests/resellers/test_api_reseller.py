"""The reseller API (/api/v1/reseller/…) with a reseller's own key: wallet and prices, buying
(all or none, once per idempotency key, within the credit limit), renewing, switching accounts
off and on, usage, a purchase's configs file; one reseller never reaches another's accounts;
staff tokens and reseller keys never cross; wrong keys and each key are throttled."""

import hashlib

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token as StaffToken
from rest_framework.test import APIClient

from resellers import services
from resellers.models import Account, Batch, Token
from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop.models import Customer, Order

pytestmark = pytest.mark.django_db
ME = "/api/v1/reseller/me/"
ACCOUNTS = "/api/v1/reseller/accounts/"


def client_for(key: str | None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def make_reseller(balance: int, **terms):
    customer = CustomerFactory.with_balance(balance, language="en") if balance else CustomerFactory(language="en")
    reseller = services.reseller_promote(customer_id=customer.pk, by="test", **{"discount_bp": 2000, **terms})
    _token, key = services.token_create(reseller_id=reseller.pk, name="site")
    return reseller, key


def balance(reseller) -> int:
    return Customer.objects.get(pk=reseller.customer_id).balance_amount


@pytest.fixture
def plan():
    return PlanFactory(price_amount=100_000, duration_days=30, traffic_gb=50)


@pytest.fixture
def a(plan):
    return make_reseller(500_000)


@pytest.fixture
def b(plan):
    return make_reseller(500_000)


def buy(key, plan, *, idem="k1", **body):
    return client_for(key).post(ACCOUNTS, {"plan": plan.pk, **body}, format="json", HTTP_IDEMPOTENCY_KEY=idem)


# --- me ---------------------------------------------------------------------------------------------

def test_me_shows_the_wallet_credit_and_a_price_per_plan_they_may_sell(plan, settings):
    other = PlanFactory(price_amount=50_000)
    PlanFactory(price_amount=70_000, is_active=False)  # not on sale: not listed
    reseller, key = make_reseller(0, credit_limit_amount=300_000, daily_account_limit=5,
                                  prices={other.pk: 45_000})
    response = client_for(key).get(ME)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["id"] == reseller.pk
    assert (data["balance_amount"], data["credit_limit_amount"], data["credit_used_amount"],
            data["available_amount"]) == (0, 300_000, 0, 300_000)
    assert data["is_frozen"] is False and data["currency"] == settings.CURRENCY
    assert (data["daily_account_limit"], data["accounts_today"]) == (5, 0)
    rows = {row["plan"]: row for row in data["prices"]}
    assert set(rows) == {plan.pk, other.pk}
    assert rows[plan.pk] == {"plan": plan.pk, "name": plan.name, "duration_days": 30, "traffic_gb": 50,
                             "list_amount": 100_000, "price_amount": 80_000}
    assert rows[other.pk]["price_amount"] == 45_000
    services.reseller_update(reseller_id=reseller.pk, by="test", plan_ids=[other.pk])
    assert [row["plan"] for row in client_for(key).get(ME).json()["prices"]] == [other.pk]


# --- buying -----------------------------------------------------------------------------------------

def test_buy_several_accounts_once_per_idempotency_key(a, plan, fake_telegram):
    reseller, key = a
    response = buy(key, plan, quantity=2, label="Ali")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["quantity"], data["unit_amount"], data["total_amount"], data["periods"]) == (2, 80_000, 160_000, 1)
    assert [acc["label"] for acc in data["accounts"]] == ["Ali 1", "Ali 2"]
    assert {"id", "label", "plan", "status", "expires_at", "created_at", "disabled", "config", "subscription_url",
            "used_bytes", "limit_bytes", "last_online"} <= set(data["accounts"][0])
    assert data["file_url"] == f"/api/v1/reseller/batches/{data['id']}/file/"
    assert balance(reseller) == 500_000 - 160_000
    again = buy(key, plan, quantity=2, label="Ali")
    assert again.status_code == 200
    assert again.json()["id"] == data["id"] and [x["id"] for x in again.json()["accounts"]] == \
        [x["id"] for x in data["accounts"]]
    assert balance(reseller) == 340_000 and Batch.objects.count() == 1 and Account.objects.count() == 2


def test_the_idempotency_key_may_come_in_the_body_and_labels_one_per_account(a, plan):
    reseller, key = a
    response = client_for(key).post(ACCOUNTS, {"plan": plan.pk, "quantity": 2, "labels": ["Sara", "Reza"],
                                               "idempotency_key": "body-1"}, format="json")
    assert response.status_code == 201, response.content
    assert [x["label"] for x in response.json()["accounts"]] == ["Sara", "Reza"]
    again = client_for(key).post(ACCOUNTS, {"plan": plan.pk, "quantity": 2, "labels": ["Sara", "Reza"],
                                            "idempotency_key": "body-1"}, format="json")
    assert again.status_code == 200 and Batch.objects.count() == 1


def test_two_resellers_may_use_the_same_idempotency_key(a, b, plan):
    assert buy(a[1], plan, idem="same").status_code == 201
    assert buy(b[1], plan, idem="same").status_code == 201
    assert Batch.objects.count() == 2


@pytest.mark.parametrize("body, headers, field", [
    ({}, {}, "idempotency_key"),  # no key at all
    ({"idempotency_key": "has space"}, {}, "idempotency_key"),
    ({"quantity": 0}, {"HTTP_IDEMPOTENCY_KEY": "x"}, "quantity"),
    ({"quantity": "many"}, {"HTTP_IDEMPOTENCY_KEY": "x"}, "quantity"),
    ({"periods": 2}, {"HTTP_IDEMPOTENCY_KEY": "x"}, "periods"),
    ({"plan": "abc"}, {"HTTP_IDEMPOTENCY_KEY": "x"}, "plan"),
    ({"label": "A", "labels": ["B"]}, {"HTTP_IDEMPOTENCY_KEY": "x"}, "labels"),
    ({"label": "x" * 65}, {"HTTP_IDEMPOTENCY_KEY": "x"}, "label"),
    ({"expected_total": -1}, {"HTTP_IDEMPOTENCY_KEY": "x"}, "expected_total"),
])
def test_bad_purchases_are_400_with_the_field_and_buy_nothing(a, plan, body, headers, field):
    reseller, key = a
    response = client_for(key).post(ACCOUNTS, {"plan": plan.pk, **body}, format="json", **headers)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Batch.objects.count() == 0 and balance(reseller) == 500_000


@pytest.mark.parametrize("body", [
    {"quantity": 101},  # over RESELLER_MAX_BULK
    {"quantity": 3, "labels": ["A", "B"]},  # not one label per account
    {"label": "\x01\x02"},  # nothing left of it
])
def test_purchases_the_service_refuses_are_400_with_its_message(a, plan, body):
    reseller, key = a
    response = buy(key, plan, **body)
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert Batch.objects.count() == 0 and balance(reseller) == 500_000


def test_a_plan_not_on_sale_or_not_theirs_is_400(a, plan):
    reseller, key = a
    hidden = PlanFactory(is_active=False)
    assert buy(key, hidden).status_code == 400
    other = PlanFactory()
    services.reseller_update(reseller_id=reseller.pk, by="test", plan_ids=[other.pk])
    response = buy(key, plan)
    assert response.status_code == 400 and plan.name in response.json()["detail"]
    assert Batch.objects.count() == 0


def test_not_enough_money_is_402_with_what_is_missing_and_nothing_bought(plan):
    reseller, key = make_reseller(100_000, credit_limit_amount=50_000)
    response = buy(key, plan, quantity=2)  # 160,000 > 100,000 + 50,000
    assert response.status_code == 402, response.content
    assert response.json()["missing_amount"] == 10_000 and response.json()["detail"]
    assert Batch.objects.count() == 0 and Order.objects.count() == 0 and balance(reseller) == 100_000
    assert buy(key, plan, idem="k2").status_code == 201  # within the credit: fine
    assert balance(reseller) == 20_000


def test_a_changed_price_is_409_with_the_new_total(a, plan):
    reseller, key = a
    response = buy(key, plan, quantity=2, expected_total=200_000)
    assert response.status_code == 409, response.content
    assert response.json()["total_amount"] == 160_000
    assert Batch.objects.count() == 0
    assert buy(key, plan, quantity=2, expected_total=160_000).status_code == 201


def test_a_frozen_reseller_is_403_and_buys_nothing(a, plan):
    reseller, key = a
    services.reseller_update(reseller_id=reseller.pk, by="test", is_frozen=True)
    response = buy(key, plan)
    assert response.status_code == 403, response.content
    assert "frozen" in response.json()["detail"]
    assert Batch.objects.count() == 0 and balance(reseller) == 500_000


def test_the_daily_limit_is_400(plan):
    reseller, key = make_reseller(500_000, daily_account_limit=1)
    assert buy(key, plan, idem="d1").status_code == 201
    response = buy(key, plan, idem="d2")
    assert response.status_code == 400 and Batch.objects.count() == 1
    assert client_for(key).get(ME).json()["accounts_today"] == 1


# --- accounts ---------------------------------------------------------------------------------------

@pytest.fixture
def bought(a, b, plan):
    """A's two accounts and B's one."""
    mine = buy(a[1], plan, quantity=2, label="Mina").json()
    theirs = buy(b[1], plan, label="Other").json()
    return mine, theirs


def test_the_list_is_paginated_searchable_and_only_their_own(a, bought):
    mine, theirs = bought
    response = client_for(a[1]).get(ACCOUNTS)
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2 and {x["label"] for x in data["results"]} == {"Mina 1", "Mina 2"}
    assert theirs["accounts"][0]["id"] not in [x["id"] for x in data["results"]]
    found = client_for(a[1]).get(ACCOUNTS, {"search": "mina 2"}).json()
    assert [x["label"] for x in found["results"]] == ["Mina 2"]
    assert client_for(a[1]).get(ACCOUNTS, {"search": "Other"}).json()["count"] == 0
    assert client_for(a[1]).get(ACCOUNTS, {"search": str(theirs["accounts"][0]["id"])}).json()["count"] == 0
    page = client_for(a[1]).get(ACCOUNTS, {"limit": 1}).json()
    assert len(page["results"]) == 1 and page["next"]


def test_account_detail(a, bought):
    account = bought[0]["accounts"][0]
    response = client_for(a[1]).get(f"{ACCOUNTS}{account['id']}/")
    assert response.status_code == 200
    data = response.json()
    assert data["label"] == "Mina 1" and data["disabled"] is False and data["status"] in ("active", "pending")
    assert client_for(a[1]).get(f"{ACCOUNTS}999999/").status_code == 404


def test_renew_once_per_key(a, bought, plan):
    reseller, key = a
    account = Account.objects.get(pk=bought[0]["accounts"][0]["id"])
    ends = account.subscription.expires_at
    before = balance(reseller)
    url = f"{ACCOUNTS}{account.pk}/renew/"
    response = client_for(key).post(url, {"periods": 1}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert response.status_code == 200, response.content
    assert response.json()["renewed"] is True and response.json()["account"]["id"] == account.pk
    assert balance(reseller) == before - 80_000
    account.refresh_from_db()
    assert (account.subscription.expires_at - ends).days == 30
    again = client_for(key).post(url, {"periods": 1, "idempotency_key": "r1"}, format="json")
    assert again.status_code == 200 and again.json()["renewed"] is False
    assert balance(reseller) == before - 80_000
    assert client_for(key).post(url, {"periods": 1}, format="json").status_code == 400  # no key
    bad = client_for(key).post(url, {"periods": 5}, format="json", HTTP_IDEMPOTENCY_KEY="r2")
    assert bad.status_code == 400 and "periods" in bad.json()
    assert balance(reseller) == before - 80_000


def test_renew_without_money_is_402(plan, fake_telegram):
    reseller, key = make_reseller(80_000)
    account_id = buy(key, plan).json()["accounts"][0]["id"]
    response = client_for(key).post(f"{ACCOUNTS}{account_id}/renew/", {}, format="json", HTTP_IDEMPOTENCY_KEY="r")
    assert response.status_code == 402 and response.json()["missing_amount"] == 80_000
    assert balance(reseller) == 0


class Switches:
    """The shop's provisioner, recording what it is asked to switch off and on."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def set_enabled(self, subscription, enabled):
        self.calls.append((subscription.pk, enabled))

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def switches(monkeypatch):
    from resellers.services import accounts

    switches = Switches(accounts.get_provisioner())
    monkeypatch.setattr(accounts, "get_provisioner", lambda: switches)
    return switches


class Refusing(Switches):
    """A provisioner that cannot switch now (a panel that does not answer)."""

    def set_enabled(self, subscription, enabled):
        from vpnbot.shop.provisioning import ProvisioningUnavailable

        raise ProvisioningUnavailable("The server could not be reached: please try again in a few minutes.")


def test_a_service_that_cannot_be_switched_is_400_and_stays_on(a, bought, monkeypatch):
    from resellers.services import accounts

    monkeypatch.setattr(accounts, "get_provisioner", lambda: Refusing(None))
    account_id = bought[0]["accounts"][0]["id"]
    response = client_for(a[1]).post(f"{ACCOUNTS}{account_id}/disable/")
    assert response.status_code == 400 and response.json()["detail"]
    assert Account.objects.get(pk=account_id).disabled_at is None


def test_disable_and_enable(a, bought, switches):
    account_id = bought[0]["accounts"][0]["id"]
    off = client_for(a[1]).post(f"{ACCOUNTS}{account_id}/disable/")
    assert off.status_code == 200, off.content
    assert off.json()["disabled"] is True and off.json()["status"] == "disabled"
    assert Account.objects.get(pk=account_id).disabled_at is not None
    on = client_for(a[1]).post(f"{ACCOUNTS}{account_id}/enable/")
    assert on.status_code == 200 and on.json()["disabled"] is False
    assert Account.objects.get(pk=account_id).disabled_at is None
    subscription_id = Account.objects.get(pk=account_id).subscription_id
    assert switches.calls == [(subscription_id, False), (subscription_id, True)]


def test_the_configs_file_of_a_purchase(a, bought):
    response = client_for(a[1]).get(f"/api/v1/reseller/batches/{bought[0]['id']}/file/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "account,label,plan,expires_at,config"
    assert "Mina 1" in text and "Mina 2" in text and "Other" not in text


def test_another_resellers_ids_are_not_found_and_nothing_changes(a, b, bought, switches):
    reseller, key = a
    theirs = bought[1]
    account = Account.objects.get(pk=theirs["accounts"][0]["id"])
    before = (balance(reseller), balance(b[0]), Order.objects.count(), account.subscription_id)
    client = client_for(key)
    url = f"{ACCOUNTS}{account.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(f"{url}renew/", {}, format="json", HTTP_IDEMPOTENCY_KEY="steal").status_code == 404
    assert client.post(f"{url}disable/").status_code == 404
    assert client.post(f"{url}enable/").status_code == 404
    assert client.get(f"/api/v1/reseller/batches/{theirs['id']}/file/").status_code == 404
    account.refresh_from_db()
    assert account.disabled_at is None and switches.calls == []
    assert (balance(reseller), balance(b[0]), Order.objects.count(), account.subscription_id) == before


# --- who may come in --------------------------------------------------------------------------------

def test_no_key_and_wrong_keys_are_401(a):
    assert client_for(None).get(ME).status_code == 401
    assert client_for("rsk_not-a-key").get(ME).status_code == 401
    assert client_for("garbage").get(ME).status_code == 401
    response = APIClient().get(ME, HTTP_AUTHORIZATION="Token")
    assert response.status_code == 401


def test_a_staff_token_is_not_a_reseller_key_and_the_reverse(a):
    boss = User.objects.create_superuser("rs-boss", "b@example.com", "pw")
    staff_key = StaffToken.objects.create(user=boss).key
    assert client_for(staff_key).get(ME).status_code == 401
    assert client_for(staff_key).get("/api/v1/resellers/").status_code == 200
    assert client_for(a[1]).get("/api/v1/resellers/").status_code == 401
    assert client_for(a[1]).get(f"/api/v1/resellers/{a[0].pk}/").status_code == 401
    assert client_for(a[1]).get("/api/v1/customers/").status_code == 401
    assert client_for(a[1]).get("/api/v1/").status_code == 401


def test_a_staff_session_does_not_open_the_reseller_api(client, a):
    client.force_login(User.objects.create_superuser("rs-session", "s@example.com", "pw"))
    assert client.get(ME).status_code == 401


def test_a_revoked_key_and_a_demoted_resellers_key_are_401(a, b):
    token = Token.objects.get(reseller=a[0])
    services.token_revoke(token_id=token.pk)
    assert client_for(a[1]).get(ME).status_code == 401
    assert client_for(b[1]).get(ME).status_code == 200
    services.reseller_demote(reseller_id=b[0].pk, by="test")
    assert client_for(b[1]).get(ME).status_code == 401


def test_only_the_hash_of_a_key_is_kept(a):
    token = Token.objects.get(reseller=a[0])
    assert a[1].startswith("rsk_")
    assert token.key_hash == hashlib.sha256(a[1].encode()).hexdigest()
    assert a[1] not in (token.key_hash, token.prefix, token.name) and a[1].startswith(token.prefix)


def test_each_key_is_throttled_on_its_own(a, b, settings):
    settings.RESELLER_API_THROTTLE = "2/min"
    assert [client_for(a[1]).get(ME).status_code for _ in range(3)] == [200, 200, 429]
    assert client_for(b[1]).get(ME).status_code == 200


def test_guessing_keys_is_throttled_per_address(a, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth_failures": "2/hour"}}
    assert [client_for(f"rsk_guess{i}").get(ME).status_code for i in range(2)] == [401, 401]
    assert client_for("rsk_guess3").get(ME).status_code == 429
    assert client_for(a[1]).get(ME).status_code == 429  # this address is refused for a while, any key


def test_without_resellers_the_reseller_api_is_404_and_the_staff_api_still_reads(a, settings):
    settings.ENABLE_RESELLERS = False
    assert client_for(a[1]).get(ME).status_code == 404
    assert client_for(a[1]).get(ACCOUNTS).status_code == 404
    boss = User.objects.create_superuser("rs-boss2", "b2@example.com", "pw")
    staff = client_for(StaffToken.objects.create(user=boss).key)
    assert staff.get("/api/v1/resellers/").status_code == 200
    assert staff.get(f"/api/v1/resellers/{a[0].pk}/").status_code == 200
