"""Staff users in the shop's roles (the groups a migration creates) and API clients for them:
shared by the permission tests of every app."""

from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def user_in(role: str, *, name: str = "") -> User:
    """A staff user in the role "owner", "accountant" or "support" ("nobody": staff, no role)."""
    user = User.objects.create_user(name or f"{role.lower()}-user", password="pw", is_staff=True)
    if role.lower() != "nobody":
        user.groups.add(Group.objects.get(name=role.capitalize()))
    return user


def api_as(role: str) -> APIClient:
    """An API client with a staff token of a user in the role."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user_in(role)).key}")
    return client
