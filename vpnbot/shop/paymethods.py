"""Taking money: the payment-method registry that the top-up and checkout flows list.

The shop owns the card-receipt method (`CARD`: the customer transfers to the shop's card and
sends a photo, an admin approves); the payments app registers the online ones (Telegram
Stars, Zarinpal, NowPayments) in its ready(). The shop never imports a provider: it lists
`available()` methods as buttons and calls `start()` on the one the customer picks.

A method's `start()` answers with a `Started`: the text to show (the amount in the
provider's currency), and a link button, or nothing more when the method sent its own
message (a Telegram invoice). It raises `MethodUnavailable` with a text for the customer when
it cannot start (the provider is down, the amount is out of its range). Asked with `link=True`
(the customer pays outside the chat, in the Mini App) it answers with a URL in any case: a
method that would send its own message (a Telegram invoice) makes an invoice link instead
(`invoice_link`: open it with Telegram.WebApp.openInvoice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

CARD = "card"


class MethodUnavailable(Exception):
    """The method cannot take this payment now; str(exc) is shown to the customer."""


@dataclass(frozen=True)
class Purchase:
    """What an online payment pays for directly: the order placed once it is paid."""

    plan_id: int
    quantity: int
    expected_total: int
    code: str = ""


@dataclass
class Started:
    text: str
    url: str = ""  # a button to open (a gateway's page); empty when the method sent its own message
    url_label: str = ""
    payment_id: int | None = None
    cancel_data: str = ""  # callback_data of a "cancel this payment" button
    invoice_link: bool = False  # url is a Telegram invoice link (Telegram.WebApp.openInvoice)
    extra: dict = field(default_factory=dict)


class PaymentMethod:
    key: str = ""

    def label(self) -> str:  # the button, in the customer's language
        raise NotImplementedError

    def available(self) -> bool:
        return True

    def start(self, *, customer, amount: int, purchase: Purchase | None = None, link: bool = False) -> Started:
        raise NotImplementedError


_methods: dict[str, PaymentMethod] = {}


def register_method(method: PaymentMethod) -> None:
    _methods[method.key] = method


def unregister_method(key: str) -> None:
    _methods.pop(key, None)


def online_methods(*, for_order: bool = False) -> list[PaymentMethod]:
    """The enabled online methods, in registration order (the card is listed by the flows)."""
    return [m for key, m in _methods.items() if key != CARD and m.available()
            and (not for_order or getattr(m, "pays_orders", True))]


def method_get(key: str) -> PaymentMethod | None:
    method = _methods.get(key)
    return method if method is not None and method.available() else None


def label_of(key: str, default: Callable[[], str] | None = None) -> str:
    method = _methods.get(key)
    return method.label() if method else (default() if default else key)
