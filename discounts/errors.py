"""The discounts app's refusal: an error whose message is meant for the person who asked.
It sits below services and selectors so that both can raise it without importing each other."""

from vpnbot.shop.services import ShopError


class DiscountError(ShopError):
    """A refusal with a message for the person who asked."""
