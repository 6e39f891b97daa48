"""API throttling: per token for staff and integrations, per address for everyone else.

DRF checks throttles after authentication and permissions, so on its own it would never
slow down a request without credentials (refused first) or a guessed token (refused while
authenticating). Two additions close that gap: `AnonymousFirst` counts an anonymous request
against its address before the permission check, and `TokenAuthentication` counts each
wrong token against its address and refuses that address for a while after too many.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.settings import api_settings


class _CurrentRates:
    """Rates read from the settings at each request (DRF's classes keep the ones of import time)."""

    @property
    def THROTTLE_RATES(self):  # noqa: N802 - DRF's name
        return api_settings.DEFAULT_THROTTLE_RATES


class AddressThrottle(_CurrentRates, throttling.SimpleRateThrottle):
    """Requests without credentials, per client address (scope "anon")."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        if getattr(view, "_address_counted", False):  # AnonymousFirst counted it already
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenThrottle(_CurrentRates, throttling.UserRateThrottle):
    """Authenticated requests, per user (one token per user: per token)."""


class AnonymousFirst(permissions.BasePermission):
    """Counts an anonymous request against its address before any other permission refuses
    it (put it first in permission_classes)."""

    def has_permission(self, request, view):
        if request.user and request.user.is_authenticated:
            return True
        throttle = AddressThrottle()
        if not throttle.allow_request(request, view):
            raise exceptions.Throttled(throttle.wait())
        view._address_counted = True  # the view's own throttles need not count it again
        return True


class _WrongTokens(_CurrentRates, throttling.SimpleRateThrottle):
    scope = "auth_failures"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def over(self, request) -> bool:
        """True when this address has used up its wrong tokens (does not count this one)."""
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def count(self) -> None:
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication; an address that sent too many wrong tokens is refused
    (429) until its window passes, before its next token is even looked at."""

    def authenticate(self, request):
        if not authentication.get_authorization_header(request):
            return None
        wrong = _WrongTokens()
        if wrong.over(request):
            raise exceptions.Throttled(wrong.wait())
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            wrong.count()
            raise
