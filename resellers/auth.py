"""The reseller API's front door: a reseller's API key (`Authorization: Token rsk_…`), never a
staff token, and a throttle per reseller token.

A request with a reseller key is made by a `ResellerPrincipal`, a small non-staff object that
carries the reseller and the token: no staff permission (they all want `is_staff` and Django
permissions) ever passes for it, and the reseller views accept nothing else. A wrong key is
counted against the caller's address like a wrong staff token (vpnbot.core.throttling), so
guessing keys is throttled."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from vpnbot.core.throttling import _WrongTokens

from . import services
from .models import Reseller, Token

KEYWORD = "Token"


class ResellerPrincipal:
    """`request.user` of a reseller API request: authenticated, never staff, no permissions."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None  # not a User: nothing keyed by a user id may mistake it for one

    def __init__(self, token: Token):
        self.token = token
        self.reseller: Reseller = token.reseller

    def get_username(self) -> str:
        return f"reseller:{self.reseller.pk}"

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perm_list, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False

    def __str__(self):
        return self.get_username()


class ResellerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token rsk_…`: an active token of an active reseller, else 401. An address
    that sent too many wrong keys (any key that is not a reseller's: a staff token too) is
    refused with 429 until its window passes, before its next key is even looked at."""

    keyword = KEYWORD

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        wrong = _WrongTokens()
        if wrong.over(request):
            raise exceptions.Throttled(wrong.wait())
        token = None
        if len(header) == 2:
            try:
                token = services.token_authenticate(header[1].decode())
            except UnicodeError:
                token = None
        if token is None:
            wrong.count()
            raise exceptions.AuthenticationFailed(_("Invalid reseller API key."))
        return ResellerPrincipal(token), token

    def authenticate_header(self, request):
        return self.keyword  # a 401, not a 403, for a request without a key


class IsReseller(permissions.BasePermission):
    """Only a request authenticated with a reseller key."""

    def has_permission(self, request, view):
        return isinstance(request.user, ResellerPrincipal)


class ResellerThrottle(throttling.SimpleRateThrottle):
    """Requests per reseller token (scope "reseller"), at settings.RESELLER_API_THROTTLE read at
    each request; an empty rate switches it off."""

    scope = "reseller"

    def get_rate(self):
        return getattr(settings, "RESELLER_API_THROTTLE", None) or None

    def get_cache_key(self, request, view):
        if not isinstance(request.user, ResellerPrincipal):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.token.pk}


class ResellerTokenScheme(OpenApiAuthenticationExtension):
    target_class = ResellerTokenAuthentication
    name = "resellerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "A reseller's API key, as `Token rsk_…` (made by the shop's staff; shown once). "
                               "Staff tokens are not accepted here."}
