"""The shop's refusals: ShopError and its kinds, with a message for the person who asked.
The lowest room of the services package: every other subject raises these."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..formatting import money


class ShopError(Exception):
    """A refusal with a message meant for the person who asked."""


class InsufficientBalance(ShopError):
    def __init__(self, missing: int):
        super().__init__(_("Your wallet is short by %(amount)s.") % {"amount": money(missing)})
        self.missing = missing


class NewLinkTooSoon(ShopError):
    """A new link was made for this service moments ago (a double tap, or the bot and the Mini
    App at once): no second one."""


class QuoteChanged(ShopError):
    def __init__(self, quote):
        super().__init__(_("The price changed since you saw it. Please check the new price."))
        self.quote = quote


class RiskHeld(ShopError):
    """The registered risk checks hold this (a receipt to approve, a refund): it goes through
    only on a second confirmation, or never while `verdict.frozen` (a banned customer)."""

    def __init__(self, verdict, message: str = ""):
        if not message:
            message = (_("Frozen: the customer is banned. Nothing moves until the ban is lifted.") if verdict.frozen
                       else _("Held by the risk checks (score %(score)s): %(reasons)s. Confirm to go on anyway.")
                       % {"score": verdict.score, "reasons": verdict.reasons_text()})
        super().__init__(message)
        self.verdict = verdict
