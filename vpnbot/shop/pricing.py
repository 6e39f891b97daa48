"""One way to price an order: price_quote(). Feature apps plug adjusters into it."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.utils import timezone


@dataclass
class AppliedDiscount:
    label: str
    amount: int
    ref: str = ""  # what the adjuster needs to redeem it, e.g. "discount:12"


@dataclass
class Quote:
    plan_id: int
    quantity: int
    list_amount: int
    discounts: list[AppliedDiscount] = field(default_factory=list)
    cashback_amount: int = 0
    code: str = ""
    code_applied: bool = False  # an adjuster sets it when the typed promo code gave a discount
    at: str = ""
    # a reseller buying accounts for their own customers: the resellers' adjuster gives their
    # price; other adjusters add nothing unless they are meant for resellers (no cashback)
    resale: bool = False

    @property
    def discount_amount(self) -> int:
        return sum(d.amount for d in self.discounts)

    @property
    def total_amount(self) -> int:
        return max(self.list_amount - self.discount_amount, 0)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["discount_amount"] = self.discount_amount
        data["total_amount"] = self.total_amount
        return data


# fn(quote, customer=, plan=, at=, code=) -> None; may append discounts and set cashback
_adjusters: list[Callable] = []


def register_price_adjuster(fn: Callable, *, first: bool = False) -> None:
    """first: before the adjusters registered so far (a price the others take their share off)."""
    if fn in _adjusters:
        return
    if first:
        _adjusters.insert(0, fn)
    else:
        _adjusters.append(fn)


def unregister_price_adjuster(fn: Callable) -> None:
    if fn in _adjusters:
        _adjusters.remove(fn)


def price_quote(customer, plan, quantity: int, at: datetime | None = None, *, code: str = "",
                resale: bool = False) -> Quote:
    at = at or timezone.now()
    quote = Quote(plan_id=plan.pk, quantity=quantity, list_amount=plan.price_amount * quantity,
                  code=code.strip(), at=at.isoformat(), resale=resale)
    for adjust in _adjusters:
        adjust(quote, customer=customer, plan=plan, at=at, code=quote.code)
    return quote


# --- a price list: several quotes for one customer at one moment ---------------------------------

_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("pricing_memo", default=None)


@contextlib.contextmanager
def many_quotes() -> Iterator[None]:
    """Quotes made inside (a price list: every plan for one customer, at one `at`) share what
    an adjuster reads per customer rather than per plan (see memo): a list of N plans costs
    the adjusters' reads once, not N times."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memo(key, compute: Callable):
    """compute() once per key inside many_quotes() (the key must name everything the result
    depends on); every time outside it."""
    store = _memo.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]


# fn(order, quote) inside the checkout transaction: redeem what the quote used.
_redeemers: list[Callable] = []


def register_redeemer(fn: Callable) -> None:
    if fn not in _redeemers:
        _redeemers.append(fn)


def redeem(order, quote: Quote) -> None:
    for fn in _redeemers:
        fn(order, quote)
