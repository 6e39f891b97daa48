"""The resellers' refusals: a message for the person who asked (a reseller, an operator)."""

from vpnbot.shop.services import ShopError


class ResellerError(ShopError):
    """A refusal with a message meant for the person who asked."""


class NotFound(ResellerError):
    """No such account (or reseller) among the ones the asker may see: the API answers 404."""
