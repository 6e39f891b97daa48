"""The one interface every payment provider answers, and what it answers with.

A provider turns a `Payment` (amount in the shop's currency, purpose) into something the
customer pays (`start`: a link or a Telegram invoice), tells what a confirmation really says
(`verify_callback`: signature or server-to-server check first, `Unverified` otherwise), says
where a payment stands when asked (`check`: the reconciliation's and "check now"'s question),
and gives the money back where it can (`refund`).

Providers never touch the wallet: they answer `Confirmation`s, and
`payments.services.payment_confirm` credits, once, under a lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PAID = "paid"
PENDING = "pending"
FAILED = "failed"
EXPIRED = "expired"
HOLD = "hold"  # the provider says money came, but not as asked (NowPayments' partially_paid)
REFUNDED = "refunded"


class ProviderError(Exception):
    """A call to the provider failed. `retry`: worth trying again later (network, 5xx)."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


class Unverified(Exception):
    """A callback that is not what it claims (bad or missing signature, unknown payment, a
    verify call that says no): nothing changes. The text is for the log, without secrets."""


class NotSupported(ProviderError):
    def __init__(self, message: str):
        super().__init__(message, retry=False)


@dataclass(frozen=True)
class Asked:
    """What the customer is asked to pay at the provider."""

    amount: Decimal
    currency: str

    def text(self) -> str:
        value = self.amount.normalize()
        shown = f"{value:,f}" if value == value.to_integral() else f"{value:,.2f}"
        return f"{shown} {self.currency}"


@dataclass(frozen=True)
class Opened:
    """What start() made at the provider."""

    provider_payment_id: str | None = None  # known now (an authority, an invoice id) or later (Stars)
    url: str = ""
    status_detail: str = ""


@dataclass(frozen=True)
class Confirmation:
    """What the provider says of one payment, after verification."""

    status: str  # PAID, PENDING, FAILED, EXPIRED, HOLD, REFUNDED
    amount: Decimal | None = None  # what was paid, in `currency`
    currency: str = ""
    provider_payment_id: str | None = None  # set when it is learnt only now (Stars' charge id)
    detail: str = ""  # the provider's own status word or code, for the timeline


class Provider:
    key: str = ""
    currency: str = ""
    can_refund: bool = False
    # start_link() answers a Telegram invoice link (opened with Telegram.WebApp.openInvoice),
    # not a web page
    link_is_invoice: bool = False

    def enabled(self) -> bool:
        raise NotImplementedError

    def label(self) -> str:
        raise NotImplementedError

    def asked(self, *, amount: int, plan=None, quantity: int = 1) -> Asked:
        """The provider's amount for `amount` of the shop's currency (a plan's own price there
        when it has one)."""
        raise NotImplementedError

    def start(self, payment) -> Opened:
        raise NotImplementedError

    def start_link(self, payment) -> Opened:
        """Like start(), for a customer paying outside the chat (the Mini App): the answer
        must carry a URL. A provider whose start() sends a message instead overrides it."""
        return self.start(payment)

    def check(self, payment) -> Confirmation:
        raise NotImplementedError

    def refund(self, payment) -> None:
        raise NotSupported(f"{self.key} cannot refund")
