"""For the tests of the operators' rooms (API, admin, command): payments made with the ORM, staff
users holding chosen permissions, and a Telegram Stars provider that answers what a test says."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from payments import providers
from payments.models import Payment
from payments.providers import PAID, Confirmation, Provider, ProviderError


class FakeStars(Provider):
    """Stands in for Telegram Stars: `check` answers `answer` (or raises `error`), `refund`
    records the payment (or raises `error`)."""

    key = "stars"
    currency = "XTR"
    can_refund = True

    def __init__(self):
        self.answer = Confirmation(PAID, amount=Decimal(50), currency="XTR", detail="found in getStarTransactions")
        self.error: ProviderError | None = None
        self.checked: list[int] = []
        self.refunded: list[int] = []

    def enabled(self) -> bool:
        return True

    def label(self) -> str:
        return "⭐ Telegram Stars"

    def check(self, payment) -> Confirmation:
        self.checked.append(payment.pk)
        if self.error is not None:
            raise self.error
        return self.answer

    def refund(self, payment) -> None:
        if self.error is not None:
            raise self.error
        self.refunded.append(payment.pk)


def use_fake_stars():
    """Register a FakeStars in place of the real provider; returns (fake, restore)."""
    real = providers.get("stars")
    fake = FakeStars()
    providers.register(fake)
    return fake, lambda: providers.register(real)


def stars_payment(customer, *, status=Payment.Status.HELD, amount=50_000, stars="50", charge="charge-1",
                  **extra) -> Payment:
    return Payment.objects.create(provider=Payment.Provider.STARS, customer=customer, amount=amount, currency="XTR",
                                  provider_amount=Decimal(stars), provider_payment_id=charge, status=status,
                                  timeline=[{"at": "2026-01-02T10:00:00+00:00", "event": "created",
                                             "detail": f"{stars} XTR"}], **extra)


def staff(name: str, *codenames: str, is_staff: bool = True) -> User:
    """A user holding these payments permissions (codenames of the payments app)."""
    user = User.objects.create_user(name, password="pw", is_staff=is_staff)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="payments", codename__in=codenames))
    return user


def api_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}",
                       HTTP_ACCEPT_LANGUAGE="en")
    return client
