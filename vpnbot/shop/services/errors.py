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
