"""The resellers' staff API (/api/v1/resellers/…): promote, list with filters, read with the
wallet, credit and this month's figures, change terms within the services' rules, issue API
keys (shown once) and revoke them, demote, monthly statements; the schema's own section."""

import hashlib

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token as StaffToken
from rest_framework.test import APIClient

from resellers import services
from resellers.models import Reseller, ResellerPrice, Token
from tests.factories import CustomerFactory, PlanFactory
from vpnbot.shop.models import Customer

pytestmark = pytest.mark.django_db
LIST = "/api/v1/resellers/"


@pytest.fixture
def boss():
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    user = User.objects.create_superuser("rs-staff", "s@example.com", "pw")
    client.credentials(HTTP_AUTHORIZATION=f"Token {StaffToken.objects.create(user=user).key}")
    return client


@pytest.fixture
def plan():
    return PlanFactory(price_amount=100_000)


def promote(customer=None, **terms) -> Reseller:
    customer = customer or CustomerFactory(language="en")
    return services.reseller_promote(customer_id=customer.pk, by="test", **terms)


def test_promote_with_a_tier_prices_plans_credit_and_a_parent(boss, plan):
    other = PlanFactory(price_amount=50_000)
    parent = promote(discount_bp=1000, floor_bp=8000)
    customer = CustomerFactory()
    response = boss.post(LIST, {"customer": customer.pk, "discount_bp": 1500,
                                "prices": [{"plan": other.pk, "price_amount": 42_000}], "credit_limit_amount": 90_000,
                                "parent": parent.pk, "markup_bp": 500, "commission_bp": 700, "daily_account_limit": 20,
                                "plans": [plan.pk, other.pk], "note": "Tehran shop"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    reseller = Reseller.objects.get(customer=customer)
    assert data["id"] == reseller.pk and data["customer"] == customer.pk and data["parent"] == parent.pk
    assert (data["discount_bp"], data["markup_bp"], data["commission_bp"], data["daily_account_limit"]) == \
        (1500, 500, 700, 20)
    assert data["prices"] == [{"plan": other.pk, "price_amount": 42_000}]
    assert data["plans"] == sorted([plan.pk, other.pk]) and data["note"] == "Tehran shop"
    assert (data["balance_amount"], data["credit_limit_amount"], data["credit_used_amount"],
            data["available_amount"]) == (0, 90_000, 0, 90_000)
    assert data["is_active"] is True and data["accounts_running"] == 0 and data["commission_total_amount"] == 0
    assert set(data["this_month"]) >= {"accounts_bought", "renewals", "spent_amount", "commission_amount"}


@pytest.mark.parametrize("body, field", [
    ({"discount_bp": 10_001}, "discount_bp"),
    ({"credit_limit_amount": -1}, "credit_limit_amount"),
    ({"prices": [{"plan": 1, "price_amount": 5}, {"plan": 1, "price_amount": 6}]}, "prices"),
    ({"prices": [{"plan": 1}]}, "prices"),
    ({"customer": "x"}, "customer"),
    ({"plans": ["a"]}, "plans"),
])
def test_bad_promotions_are_400_with_the_field(boss, plan, body, field):
    customer = CustomerFactory()
    response = boss.post(LIST, {"customer": customer.pk, **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Reseller.objects.exists()


def test_promotions_the_service_refuses_are_400_with_its_message(boss, plan):
    customer = CustomerFactory()
    promote(customer)
    cases = [{"customer": customer.pk}, {"customer": 999_999}, {"customer": CustomerFactory().pk, "parent": 999_999},
             {"customer": CustomerFactory().pk, "prices": [{"plan": 999_999, "price_amount": 1}]},
             {"customer": CustomerFactory().pk, "plans": [999_999]}]
    for body in cases:
        response = boss.post(LIST, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["detail"]
    assert Reseller.objects.count() == 1


def test_the_list_and_its_filters(boss):
    parent = promote()
    sub = promote(parent_id=parent.pk)
    gone = promote()
    services.reseller_demote(reseller_id=gone.pk, by="test")
    rows = boss.get(LIST).json()["results"]
    assert [r["id"] for r in rows] == [gone.pk, sub.pk, parent.pk]
    assert {"balance_amount", "credit_limit_amount", "credit_used_amount", "available_amount",
            "accounts_running"} <= set(rows[0])
    assert [r["id"] for r in boss.get(LIST, {"active": "false"}).json()["results"]] == [gone.pk]
    assert [r["id"] for r in boss.get(LIST, {"active": "true"}).json()["results"]] == [sub.pk, parent.pk]
    assert [r["id"] for r in boss.get(LIST, {"parent": parent.pk}).json()["results"]] == [sub.pk]
    assert boss.get(LIST, {"active": "maybe"}).status_code == 400
    assert boss.get(LIST, {"parent": "x"}).status_code == 400


def test_the_detail_shows_credit_used_and_this_months_figures(boss, plan):
    reseller = promote(discount_bp=2000, credit_limit_amount=100_000)
    services.reseller_buy(reseller_id=reseller.pk, plan_id=plan.pk, quantity=1, idempotency_key="d1")
    data = boss.get(f"{LIST}{reseller.pk}/").json()
    assert (data["balance_amount"], data["credit_used_amount"], data["available_amount"]) == (-80_000, 80_000, 20_000)
    assert data["this_month"]["accounts_bought"] == 1 and data["this_month"]["spent_amount"] == 80_000
    assert boss.get(f"{LIST}999999/").status_code == 404


def test_change_terms_prices_and_parent(boss, plan):
    parent = promote()
    reseller = promote(prices={plan.pk: 70_000})
    response = boss.patch(f"{LIST}{reseller.pk}/", {"discount_bp": 500, "is_frozen": True, "parent": parent.pk,
                                                    "prices": [{"plan": plan.pk, "price_amount": None}],
                                                    "credit_limit_amount": 5_000}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["discount_bp"], data["is_frozen"], data["parent"], data["prices"], data["credit_limit_amount"]) == \
        (500, True, parent.pk, [], 5_000)
    assert boss.patch(f"{LIST}{reseller.pk}/", {"parent": None}, format="json").json()["parent"] is None
    assert boss.put(f"{LIST}{reseller.pk}/", {}, format="json").status_code == 405


def test_the_credit_limit_cannot_go_under_what_is_owed(boss, plan):
    reseller = promote(discount_bp=2000, credit_limit_amount=100_000)
    services.reseller_buy(reseller_id=reseller.pk, plan_id=plan.pk, quantity=1, idempotency_key="o1")
    response = boss.patch(f"{LIST}{reseller.pk}/", {"credit_limit_amount": 50_000, "discount_bp": 0}, format="json")
    assert response.status_code == 400
    assert "80,000" in response.json()["detail"]
    assert Customer.objects.get(pk=reseller.customer_id).credit_limit_amount == 100_000
    reseller.refresh_from_db()
    assert reseller.discount_bp == 2000  # all or nothing
    bad = boss.patch(f"{LIST}{reseller.pk}/", {"commission_bp": 20_000}, format="json")
    assert bad.status_code == 400 and "commission_bp" in bad.json()


def test_a_key_is_shown_once_and_only_its_hash_is_kept(boss):
    reseller = promote()
    response = boss.post(f"{LIST}{reseller.pk}/tokens/", {"name": "website"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    key = data["key"]
    assert key.startswith("rsk_") and data["name"] == "website" and key.startswith(data["prefix"])
    token = Token.objects.get(pk=data["id"])
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    listed = boss.get(f"{LIST}{reseller.pk}/tokens/")
    assert listed.status_code == 200
    assert key not in listed.content.decode() and token.key_hash not in listed.content.decode()
    assert "key" not in listed.json()[0] and listed.json()[0]["is_revoked"] is False
    me = APIClient().get("/api/v1/reseller/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert me.status_code == 200
    revoked = boss.post(f"{LIST}{reseller.pk}/tokens/{token.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["is_revoked"] is True
    assert APIClient().get("/api/v1/reseller/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_revoking_a_key_of_another_reseller_is_404(boss):
    mine, other = promote(), promote()
    token, _key = services.token_create(reseller_id=other.pk)
    assert boss.post(f"{LIST}{mine.pk}/tokens/{token.pk}/revoke/").status_code == 404
    assert boss.post(f"{LIST}{mine.pk}/tokens/999999/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_demote_revokes_the_keys_and_a_demoted_reseller_gets_no_new_key(boss):
    reseller = promote()
    _token, key = services.token_create(reseller_id=reseller.pk)
    response = boss.post(f"{LIST}{reseller.pk}/demote/")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert APIClient().get("/api/v1/reseller/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    refused = boss.post(f"{LIST}{reseller.pk}/tokens/", {"name": "x"}, format="json")
    assert refused.status_code == 400 and refused.json()["detail"]
    assert Token.objects.filter(reseller=reseller).count() == 1
    again = boss.post(LIST, {"customer": reseller.customer_id, "discount_bp": 100}, format="json")
    assert again.status_code == 201 and again.json()["id"] == reseller.pk and again.json()["is_active"] is True


def test_the_monthly_statement(boss, plan):
    reseller = promote(discount_bp=2000, credit_limit_amount=100_000)
    services.reseller_buy(reseller_id=reseller.pk, plan_id=plan.pk, quantity=1, idempotency_key="s1")
    response = boss.get(f"{LIST}{reseller.pk}/statement/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert text.startswith("date,reason,source,amount,balance_after,note") and "-80000" in text
    old = boss.get(f"{LIST}{reseller.pk}/statement/", {"month": "2020-01"})
    assert old.status_code == 200 and f"reseller-{reseller.pk}-2020-01.csv" in old["Content-Disposition"]
    for bad in ("2025-13", "2025-1", "abc", "1999-12", "2025-00"):
        assert boss.get(f"{LIST}{reseller.pk}/statement/", {"month": bad}).status_code == 400, bad


def test_prices_are_kept_per_plan(boss, plan):
    reseller = promote()
    boss.patch(f"{LIST}{reseller.pk}/", {"prices": [{"plan": plan.pk, "price_amount": 60_000}]}, format="json")
    assert ResellerPrice.objects.get(reseller=reseller).price_amount == 60_000


def test_the_schema_has_the_reseller_api_section(client):
    client.force_login(User.objects.create_superuser("rs-schema", "x@example.com", "pw"))
    schema = client.get("/api/schema/", {"format": "json"}).json()
    me = schema["paths"]["/api/v1/reseller/me/"]["get"]
    assert me["tags"] == ["Reseller API"] and me["security"] == [{"resellerToken": []}]
    assert schema["paths"]["/api/v1/resellers/"]["get"]["tags"] == ["Resellers"]
    assert "resellerToken" in schema["components"]["securitySchemes"]
    staff_security = schema["paths"]["/api/v1/resellers/"]["get"]["security"]
    assert {"resellerToken": []} not in staff_security
