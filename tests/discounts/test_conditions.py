from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from discounts import conditions


def ctx(**overrides):
    at = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # Monday 20:30 in Tehran
    base = {"customer": None, "plan": SimpleNamespace(pk=3), "quantity": 3, "amount": 300_000, "at": at,
            "local": at.astimezone(ZoneInfo("Asia/Tehran")), "language": "fa", "paid_orders": 2,
            "last_order_at": at - timedelta(days=40), "joined_at": at - timedelta(days=400), "level": "silver",
            "lifetime_spend": 5_000_000, "cache": {}}
    base.update(overrides)
    return base


@pytest.mark.parametrize("tree, message", [
    ({"all": []}, "conditions.all: must be a non-empty list"),
    ({"all": [{"plan_in": [1]}, {"amount": {"gte": -5}}]}, "conditions.all[1].amount: 'gte' must be a whole number"),
    ({"any": [{"nope": 1}]}, "conditions.any[0].nope: unknown condition"),
    ({"not": {"all": [{"quantity": {"between": 3}}]}}, "conditions.not.all[0].quantity: unknown comparison 'between'"),
    ({"plan_in": [1], "amount": {"gte": 1}}, "conditions: must have exactly one key"),
    ([1, 2], "conditions: must be an object"),
    ({"hour": {"from": 5, "to": 5}}, "conditions.hour: 'from' and 'to' must differ"),
    ({"date_range": {"from": "2026-13-01"}}, "conditions.date_range: 'from' must be a date"),
    ({"language": ["de"]}, "conditions.language: 'de' is not one of fa, en"),
    ({"weekday": [7]}, "conditions.weekday: a weekday must be 0-6"),
    ({"all": [{"not": {}}]}, "conditions.all[0].not: an empty condition"),
])
def test_malformed_trees_are_refused_with_the_path_of_the_faulty_node(tree, message):
    with pytest.raises(ValidationError) as exc:
        conditions.validate(tree)
    assert message in exc.value.messages[0]


def test_too_deep_a_tree_is_refused():
    tree = {"plan_in": [1]}
    for _ in range(12):
        tree = {"not": tree}
    with pytest.raises(ValidationError, match="nested too deeply"):
        conditions.validate(tree)


def test_empty_tree_is_valid_and_true():
    conditions.validate({})
    assert conditions.evaluate({}, ctx()) is True
    assert conditions.evaluate(None, ctx()) is True


@pytest.mark.parametrize("tree, expected", [
    ({"plan_in": [3, 4]}, True),
    ({"plan_in": [4]}, False),
    ({"all": [{"amount": {"gte": 300_000}}, {"quantity": {"gte": 3, "lt": 6}}]}, True),
    ({"all": [{"amount": {"gt": 300_000}}, {"quantity": {"gte": 3}}]}, False),
    ({"any": [{"amount": {"gt": 300_000}}, {"language": "fa"}]}, True),
    ({"not": {"language": ["fa"]}}, False),
    ({"paid_orders": {"eq": 2}}, True),
    ({"days_since_last_order": {"gte": 30}}, True),
    ({"days_since_last_order": {"lt": 30}}, False),
    ({"days_since_joined": {"gte": 365}}, True),
    ({"level": ["gold", "platinum"]}, False),
    ({"weekday": [0]}, True),  # Monday in Tehran
    ({"hour": {"from": 20, "to": 23}}, True),
    ({"hour": {"from": 22, "to": 2}}, False),
    ({"date_range": {"from": "2026-03-02", "to": "2026-03-02"}}, True),
    ({"date_range": {"to": "2026-03-01"}}, False),
])
def test_evaluation(tree, expected):
    conditions.validate(tree)
    assert conditions.evaluate(tree, ctx()) is expected


def test_hour_range_crossing_midnight():
    tree = {"hour": {"from": 22, "to": 2}}
    late = datetime(2026, 3, 2, 23, 30, tzinfo=ZoneInfo("Asia/Tehran"))
    assert conditions.evaluate(tree, ctx(local=late)) is True
    assert conditions.evaluate(tree, ctx(local=late + timedelta(hours=2))) is True  # 01:30
    assert conditions.evaluate(tree, ctx(local=late + timedelta(hours=3))) is False  # 02:30


def test_never_ordered_counts_as_long_ago():
    assert conditions.evaluate({"days_since_last_order": {"gte": 30}}, ctx(last_order_at=None)) is True
    assert conditions.evaluate({"days_since_last_order": {"lte": 30}}, ctx(last_order_at=None)) is False


def test_registered_predicate_is_validated_and_evaluated_and_unknown_ones_are_false():
    def check(arg):
        if not isinstance(arg, str):
            raise ValidationError("a segment name")

    conditions.register_predicate("test_segment", lambda arg, c: c["cache"].setdefault("segment", "vip") == arg, check)
    try:
        with pytest.raises(ValidationError, match=r"conditions.all\[0\].test_segment: a segment name"):
            conditions.validate({"all": [{"test_segment": 5}]})
        conditions.validate({"test_segment": "vip"})
        assert conditions.evaluate({"test_segment": "vip"}, ctx()) is True
        assert conditions.evaluate({"test_segment": "new"}, ctx()) is False
    finally:
        conditions._predicates.pop("test_segment")
    assert conditions.evaluate({"test_segment": "vip"}, ctx()) is False
