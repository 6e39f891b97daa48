"""The condition engine: JSON trees of all / any / not over named predicates, validated with a
message that points at the faulty node and evaluated without eval().

A tree is `{}` (always true), `{"all": [node, ...]}`, `{"any": [node, ...]}`, `{"not": node}`
or a predicate `{"<name>": <argument>}` (exactly one key). Other apps add predicates with
`register_predicate` (the CRM registers `segment`).

The evaluation context `ctx` is a dict with:
  customer       shop Customer (or None)
  plan           shop Plan (or None)
  quantity       int, periods bought
  amount         int, list amount of the order (Toman)
  at             aware datetime (UTC) of the quote
  local          the same moment in the customer's time zone
  language       the customer's language code ("fa", "en")
  paid_orders    int, the customer's paid orders
  last_order_at  aware datetime of the last paid order, or None
  joined_at      aware datetime the customer joined
  level          loyalty level ("bronze" … "platinum")
  lifetime_spend int
  cache          a dict a predicate may use to remember work within one quote
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from django.core.exceptions import ValidationError

log = logging.getLogger(__name__)
MAX_DEPTH = 8
MAX_NODES = 200
OPS = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
       "eq": lambda a, b: a == b}
LEVELS = ("bronze", "silver", "gold", "platinum")

_predicates: dict[str, tuple[Callable, Callable]] = {}


def register_predicate(name: str, evaluate_fn: Callable[[object, dict], bool], validate_fn: Callable[[object], None]) -> None:
    """evaluate_fn(argument, ctx) -> bool; validate_fn(argument) raises ValidationError (or
    ValueError) with a message about the argument."""
    if name in ("all", "any", "not"):
        raise ValueError(f"{name!r} is reserved")
    _predicates[name] = (evaluate_fn, validate_fn)


def predicate_names() -> list[str]:
    return sorted(_predicates)


# --- validation ------------------------------------------------------------------------------

def validate(tree) -> None:
    """Raise ValidationError("conditions.all[1].amount: ...") for the first faulty node."""
    counter = [0]
    _validate(tree, "conditions", 0, counter)


def _fail(path: str, message: str):
    raise ValidationError(f"{path}: {message}", code="invalid_condition")


def _validate(node, path: str, depth: int, counter: list[int]) -> None:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        _fail(path, f"too many nodes (at most {MAX_NODES})")
    if depth > MAX_DEPTH:
        _fail(path, f"nested too deeply (at most {MAX_DEPTH} levels)")
    if node is None or node == {}:
        if depth == 0:
            return
        _fail(path, "an empty condition")
    if not isinstance(node, dict):
        _fail(path, "must be an object like {\"all\": [...]} or {\"plan_in\": [1, 2]}")
    if len(node) != 1:
        _fail(path, f"must have exactly one key, found {len(node)}: {', '.join(sorted(map(str, node)))}")
    (key, arg), = node.items()
    if key in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            _fail(f"{path}.{key}", "must be a non-empty list of conditions")
        for i, child in enumerate(arg):
            _validate(child, f"{path}.{key}[{i}]", depth + 1, counter)
        return
    if key == "not":
        _validate(arg, f"{path}.not", depth + 1, counter)
        return
    if key not in _predicates:
        _fail(f"{path}.{key}", f"unknown condition; known: all, any, not, {', '.join(predicate_names())}")
    try:
        _predicates[key][1](arg)
    except ValidationError as exc:
        _fail(f"{path}.{key}", "; ".join(exc.messages))
    except (ValueError, TypeError) as exc:
        _fail(f"{path}.{key}", str(exc))


# --- evaluation ----------------------------------------------------------------------------------

def evaluate(tree, ctx: dict) -> bool:
    """True when the tree holds for ctx; an empty tree holds. An unknown predicate (an app
    switched off) is false, so a discount that needs it does not apply."""
    return compile_tree(tree)(ctx)


def _true(ctx) -> bool:
    return True


def _false(ctx) -> bool:
    return False


def compile_tree(tree) -> Callable[[dict], bool]:
    """The tree as one function of ctx (no eval: closures over the parsed nodes), so a tree
    kept in memory is checked many times without walking the JSON again."""
    if tree is None or tree == {}:
        return _true
    if not isinstance(tree, dict) or len(tree) != 1:
        return _false
    (key, arg), = tree.items()
    if key in ("all", "any"):
        if not isinstance(arg, list):
            return _false
        parts = [compile_tree(child) for child in arg]
        if key == "all":
            def run_all(ctx):
                for part in parts:
                    if not part(ctx):
                        return False
                return True
            return run_all

        def run_any(ctx):
            for part in parts:
                if part(ctx):
                    return True
            return False
        return run_any
    if key == "not":
        inner = compile_tree(arg)
        return lambda ctx: not inner(ctx)

    def run_predicate(ctx):
        entry = _predicates.get(key)
        if entry is None:
            log.warning("condition %r is not registered; treated as false", key)
            return False
        try:
            return bool(entry[0](arg, ctx))
        except (KeyError, TypeError, ValueError, AttributeError):
            log.exception("condition %r failed on %r", key, arg)
            return False
    return run_predicate


# --- built-in predicates ------------------------------------------------------------------------

def _int(value, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be a whole number ≥ {minimum}, got {value!r}")
    return value


def _validate_compare(arg) -> None:
    if not isinstance(arg, dict) or not arg:
        raise ValueError('must be an object of comparisons, e.g. {"gte": 3, "lt": 10}')
    for op, value in arg.items():
        if op not in OPS:
            raise ValueError(f"unknown comparison {op!r}; use {', '.join(OPS)}")
        _int(value, f"{op!r}")


def _compare(value, arg: dict) -> bool:
    return all(OPS[op](value, bound) for op, bound in arg.items())


def _validate_id_list(arg) -> None:
    if not isinstance(arg, list) or not arg:
        raise ValueError("must be a non-empty list of ids")
    for item in arg:
        _int(item, "each id", 1)


def _validate_choice_list(choices):
    def check(arg):
        if isinstance(arg, str):
            arg = [arg]
        if not isinstance(arg, list) or not arg:
            raise ValueError(f"must be a non-empty list from {', '.join(choices)}")
        for item in arg:
            if item not in choices:
                raise ValueError(f"{item!r} is not one of {', '.join(choices)}")
    return check


def _as_list(arg):
    return [arg] if isinstance(arg, str) else arg


def _validate_weekdays(arg) -> None:
    if not isinstance(arg, list) or not arg:
        raise ValueError("must be a non-empty list of weekdays 0-6 (Monday = 0)")
    for item in arg:
        if _int(item, "a weekday") > 6:
            raise ValueError(f"a weekday must be 0-6 (Monday = 0), got {item}")


def _validate_hours(arg) -> None:
    if not isinstance(arg, dict) or set(arg) != {"from", "to"}:
        raise ValueError('must be {"from": H, "to": H} with hours 0-24 (may cross midnight)')
    for key in ("from", "to"):
        if _int(arg[key], f"{key!r}") > 24:
            raise ValueError(f"{key!r} must be an hour 0-24")
    if arg["from"] == arg["to"]:
        raise ValueError("'from' and 'to' must differ")


def _hour_in(arg, ctx) -> bool:
    hour, start, end = ctx["local"].hour, arg["from"], arg["to"] % 24
    return start <= hour < end if start < end else (hour >= start or hour < end)


def _validate_dates(arg) -> None:
    if not isinstance(arg, dict) or not arg or set(arg) - {"from", "to"}:
        raise ValueError('must be {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"} (either may be left out)')
    parsed = {}
    for key, value in arg.items():
        try:
            parsed[key] = date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key!r} must be a date YYYY-MM-DD, got {value!r}") from None
    if "from" in parsed and "to" in parsed and parsed["from"] > parsed["to"]:
        raise ValueError("'from' is after 'to'")


def _date_in(arg, ctx) -> bool:
    today = ctx["local"].date()
    return ("from" not in arg or today >= date.fromisoformat(arg["from"])) and (
        "to" not in arg or today <= date.fromisoformat(arg["to"]))


def _days_since(moment, ctx):
    return None if moment is None else (ctx["at"] - moment).days


def _days_compare(value, arg) -> bool:
    """Never-happened counts as infinitely long ago."""
    if value is None:
        return all(op in ("gt", "gte") for op in arg)
    return _compare(value, arg)


register_predicate("plan_in", lambda arg, ctx: ctx.get("plan") is not None and ctx["plan"].pk in arg, _validate_id_list)
register_predicate("amount", lambda arg, ctx: _compare(ctx["amount"], arg), _validate_compare)
register_predicate("quantity", lambda arg, ctx: _compare(ctx["quantity"], arg), _validate_compare)
register_predicate("paid_orders", lambda arg, ctx: _compare(ctx["paid_orders"], arg), _validate_compare)
register_predicate("days_since_last_order", lambda arg, ctx: _days_compare(_days_since(ctx.get("last_order_at"), ctx), arg),
                   _validate_compare)
register_predicate("days_since_joined", lambda arg, ctx: _days_compare(_days_since(ctx.get("joined_at"), ctx), arg),
                   _validate_compare)
register_predicate("language", lambda arg, ctx: ctx.get("language") in _as_list(arg), _validate_choice_list(("fa", "en")))
register_predicate("level", lambda arg, ctx: ctx.get("level") in _as_list(arg), _validate_choice_list(LEVELS))
register_predicate("weekday", lambda arg, ctx: ctx["local"].weekday() in arg, _validate_weekdays)
register_predicate("hour", _hour_in, _validate_hours)
register_predicate("date_range", _date_in, _validate_dates)
