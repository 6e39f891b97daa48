"""The staff REST API (discounts/api.py): CRUD with the shared validation, the quote breakdown and
the statistics."""


import hypothesis
import pytest
from hypothesis import strategies as st
from rest_framework.test import APIClient

from discounts.api import CashbackRuleSerializer
from discounts.models import CashbackRule, DiscountUsage, SmartDiscount
from tests.discounts.factories import CustomerFactory, PlanFactory, SmartDiscountFactory
from tests.discounts.helpers import refunded_orders_with_cashback
from vpnbot.core import bounds
from vpnbot.shop.models import Plan
from vpnbot.shop.services import order_checkout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_cashback_5")]


def test_api_needs_staff():
    assert APIClient().get("/api/v1/discounts/").status_code in (401, 403)


def test_crud_and_validation(api):
    response = api.post("/api/v1/discounts/", {"kind": "hourly", "percent_bp": 1500,
                                               "params": {"ranges": [["20:00", "23:00"]]}}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    bad = api.post("/api/v1/discounts/", {"kind": "conditional", "percent_bp": 1000,
                                          "conditions": {"any": [{"amount": {"gte": "x"}}]}}, format="json")
    assert bad.status_code == 400
    assert "conditions.any[0].amount" in bad.json()["conditions"][0]
    both = api.post("/api/v1/discounts/", {"kind": "conditional", "percent_bp": 1000, "fixed_amount": 5}, format="json",
                    HTTP_ACCEPT_LANGUAGE="en")
    assert both.status_code == 400 and "either a percentage or a fixed amount" in str(both.json())
    patched = api.patch(f"/api/v1/discounts/{pk}/", {"status": "paused"}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "paused"
    assert api.delete(f"/api/v1/discounts/{pk}/").status_code == 204
    assert not SmartDiscount.objects.filter(pk=pk).exists()


def test_used_discount_is_archived_not_deleted(api):
    plan = PlanFactory(price_amount=100_000)
    discount = SmartDiscountFactory(percent_bp=1000)
    customer = CustomerFactory.with_balance(500_000)
    order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="a1")
    response = api.delete(f"/api/v1/discounts/{discount.pk}/")
    assert response.status_code == 200
    discount.refresh_from_db()
    assert discount.status == "archived" and DiscountUsage.objects.count() == 1


def test_cashback_rule_crud(api):
    plan = PlanFactory()
    response = api.post("/api/v1/discounts/cashback-rules/", {"percent_bp": 700, "plans": [plan.pk], "min_amount": 1000},
                        format="json")
    assert response.status_code == 201, response.content
    assert CashbackRule.objects.get().plans.get() == plan
    bad = api.post("/api/v1/discounts/cashback-rules/", {"title": "none"}, format="json")
    assert bad.status_code == 400


def test_quote_endpoint_returns_the_breakdown(api):
    plan = PlanFactory(price_amount=100_000)
    customer = CustomerFactory(language="en")
    SmartDiscountFactory(kind="hourly", percent_bp=1500, params={"ranges": [["20:00", "23:00"]]})
    response = api.post("/api/v1/discounts/quote/", {"customer": customer.pk, "plan": plan.pk, "quantity": 3,
                                                    "at": "2026-03-02T17:00:00Z"}, format="json")  # 20:30 in Tehran
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["list_amount"] == 300_000 and body["discount_amount"] == 45_000 and body["total_amount"] == 255_000
    assert body["discounts"][0]["label"] == "Happy hour"
    assert body["cashback_amount"] == 12_750
    off_hours = api.post("/api/v1/discounts/quote/", {"customer": customer.pk, "plan": plan.pk, "quantity": 3,
                                                     "at": "2026-03-02T12:00:00Z"}, format="json")
    assert off_hours.json()["discount_amount"] == 0
    assert api.post("/api/v1/discounts/quote/", {"customer": customer.pk, "plan": plan.pk, "quantity": 2},
                    format="json").status_code == 400


def test_stats_endpoint(api):
    plan = PlanFactory(price_amount=100_000)
    SmartDiscountFactory(percent_bp=1000)
    customer = CustomerFactory.with_balance(500_000)
    order_checkout(customer_id=customer.pk, plan_id=plan.pk, quantity=1, idempotency_key="a1")
    body = api.get("/api/v1/discounts/stats/?days=7").json()
    assert (body["uses"], body["discounted"], body["revenue"], body["cashback_paid"]) == (1, 10_000, 90_000, 4_500)
    assert body["per_kind"][0]["key"] == "conditional"
    assert api.get("/api/v1/discounts/stats/?days=abc").status_code == 400
    assert api.get("/api/v1/discounts/stats/?since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z").status_code == 400


def test_stats_show_cashback_paid_reversed_unrecovered_and_net(api):
    refunded_orders_with_cashback()
    body = api.get("/api/v1/discounts/stats/?days=7").json()
    assert (body["cashback_paid"], body["cashback_reversed"], body["cashback_unrecovered"], body["cashback_net"]) == (
        9_000, 5_500, 3_500, 3_500)


def test_api_edit_keeps_uses_counted_meanwhile(api, concurrent_use):
    discount = SmartDiscountFactory(percent_bp=1000, max_uses=10, used_count=3)
    response = api.patch(f"/api/v1/discounts/{discount.pk}/", {"title": "renamed"}, format="json")
    assert response.status_code == 200, response.content
    discount.refresh_from_db()
    assert (discount.title, discount.used_count) == ("renamed", 4)


def test_use_limit_below_the_uses_made_is_refused_with_a_message(api, client, staff):
    discount = SmartDiscountFactory(kind="conditional", percent_bp=1000, max_uses=10, used_count=5)
    response = api.patch(f"/api/v1/discounts/{discount.pk}/", {"max_uses": 4}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "already used 5 times" in response.json()["max_uses"][0]
    client.force_login(staff)
    form = {"kind": "conditional", "title": "", "percent_bp": "1000", "params": "{}", "conditions": "{}",
            "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00", "max_uses": "4", "per_customer_limit": "1",
            "priority": "0", "status": "active", "source": "admin",
            "usages-TOTAL_FORMS": "0", "usages-INITIAL_FORMS": "0"}
    response = client.post(f"/admin/discounts/smartdiscount/{discount.pk}/change/", form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "already used 5 times" in response.content.decode()
    discount.refresh_from_db()
    assert (discount.max_uses, discount.used_count) == (10, 5)


def test_stats_endpoint_refuses_a_period_before_year_one(api):
    response = api.get("/api/v1/discounts/stats/?until=0001-01-10T00:00:00Z&days=30", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "days" in response.json()



# --- bounds (vpnbot.core.bounds): every number an operator sets has a sane range ----------------------

DISCOUNT_OUT_OF_BOUNDS = [
    ("percent_bp", -1), ("percent_bp", 0), ("percent_bp", 10_001), ("percent_bp", 10**30),
    ("fixed_amount", bounds.MAX_AMOUNT + 1), ("fixed_amount", 10**30), ("cap_amount", bounds.MAX_AMOUNT + 1),
    ("cap_amount", 0), ("max_uses", 0), ("max_uses", bounds.MAX_COUNT + 1), ("per_customer_limit", 0),
    ("per_customer_limit", 10**9), ("priority", bounds.MAX_RANK + 1), ("priority", -(10**12))]


@pytest.mark.parametrize("field, value", DISCOUNT_OUT_OF_BOUNDS)
def test_a_discount_number_out_of_bounds_is_a_400_naming_it_and_changes_nothing(api, field, value):
    body = {"kind": "conditional", "percent_bp": None if field == "fixed_amount" else 1000, field: value}
    response = api.post("/api/v1/discounts/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not SmartDiscount.objects.exists()
    discount = SmartDiscountFactory(percent_bp=1000, max_uses=10, priority=3)
    response = api.patch(f"/api/v1/discounts/{discount.pk}/", {field: value}, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    fresh = SmartDiscount.objects.get(pk=discount.pk)
    assert (fresh.percent_bp, fresh.fixed_amount, fresh.cap_amount, fresh.max_uses, fresh.priority) == (1000, None, None, 10, 3)


@pytest.mark.parametrize("params", [
    {"basis": "quantity", "tiers": [{"min": bounds.MAX_QUANTITY + 1, "percent_bp": 500}]},
    {"basis": "amount", "tiers": [{"min": bounds.MAX_AMOUNT + 1, "percent_bp": 500}]},
    {"tiers": [{"min": 3, "fixed_amount": bounds.MAX_AMOUNT + 1}]},
    {"tiers": [{"min": 3, "fixed_amount": 10**30}]},
    {"tiers": [{"min": 3, "percent_bp": 10**30}]},
])
def test_bulk_tiers_out_of_bounds_are_a_400_naming_params(api, params):
    response = api.post("/api/v1/discounts/", {"kind": "bulk", "params": params}, format="json")
    assert response.status_code == 400 and "params" in response.json(), response.content
    assert not SmartDiscount.objects.exists()


@pytest.mark.parametrize("field, value", [
    ("percent_bp", 0), ("percent_bp", 10_001), ("percent_bp", 10**30), ("fixed_amount", bounds.MAX_AMOUNT + 1),
    ("cap_amount", bounds.MAX_AMOUNT + 1), ("min_amount", bounds.MAX_AMOUNT + 1), ("min_amount", -1),
    ("delay_days", bounds.MAX_DAYS + 1), ("delay_days", 10**5)])
def test_a_cashback_number_out_of_bounds_is_a_400_naming_it(api, field, value):
    body = {"percent_bp": None if field == "fixed_amount" else 700, field: value}
    response = api.post("/api/v1/discounts/cashback-rules/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not CashbackRule.objects.exists()


@hypothesis.settings(max_examples=100, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(percent=st.integers(min_value=-(10**20), max_value=10**20), cap=st.integers(min_value=-(10**20),
                                                                                                max_value=10**20))
def test_the_cashback_serializer_takes_exactly_the_bounded_numbers(percent, cap):
    data = CashbackRuleSerializer(data={"percent_bp": percent, "cap_amount": cap})
    assert data.is_valid() == (1 <= percent <= bounds.BASIS_POINTS and 1 <= cap <= bounds.MAX_AMOUNT), data.errors


@pytest.mark.parametrize("body", [{"quantity": 10**9}, {"quantity": 0}, {"quantity": -3}])
def test_the_quote_refuses_a_quantity_out_of_bounds(api, body):
    response = api.post("/api/v1/discounts/quote/", {"customer": CustomerFactory().pk, "plan": PlanFactory().pk, **body},
                        format="json")
    assert response.status_code == 400 and "quantity" in response.json()


def test_the_quote_of_a_plan_stored_out_of_bounds_is_a_400(api):
    plan = PlanFactory()
    Plan.objects.filter(pk=plan.pk).update(duration_days=999_999_999)
    response = api.post("/api/v1/discounts/quote/", {"customer": CustomerFactory().pk, "plan": plan.pk, "quantity": 3},
                        format="json")
    assert response.status_code == 400 and response.json()["detail"]


@pytest.mark.parametrize("days", [0, bounds.MAX_DAYS + 1, 10**30, -5, "x"])
def test_stats_refuse_a_period_out_of_bounds(api, days):
    response = api.get("/api/v1/discounts/stats/", {"days": days})
    assert response.status_code == 400 and "days" in response.json()
