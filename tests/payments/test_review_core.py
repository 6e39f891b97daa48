"""An adversary's review of the payments' core: what a bad day does to a confirmation, the
reconciliation and a payment's start (each test failed before its fix)."""


import pytest

from payments import services
from tests.payments.test_core import (
    paid,
    scripted,  # noqa: F401  (fixture)
)
from vpnbot.shop import services as shop_services
from vpnbot.shop.models import Order
from vpnbot.shop.paymethods import Purchase


@pytest.mark.django_db
def test_order_placement_crashing_still_credits_the_money(scripted, customer, plan, fake_telegram, monkeypatch,  # noqa: F811
                                                          django_capture_on_commit_callbacks):
    """The provider took the money: an unexpected error while placing the order must not roll
    the credit back (the Stars would be gone, the wallet empty, the update failed)."""
    purchase = Purchase(plan_id=plan.pk, quantity=1, expected_total=plan.price_amount)
    payment = services.payment_start(provider_key="stars", customer=customer, amount=plan.price_amount,
                                     purchase=purchase)

    def crash(**kwargs):
        raise RuntimeError("panel exploded")

    monkeypatch.setattr(shop_services, "order_checkout", crash)
    with django_capture_on_commit_callbacks(execute=True):
        applied = services.payment_confirm(payment_id=payment.pk, confirmation=paid("149"), via="telegram")
    assert applied.credited and applied.order is None
    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.status == "paid" and customer.balance_amount == plan.price_amount
    assert [e["event"] for e in payment.timeline][-1] == "order not placed"
    assert "panel exploded" not in str(payment.timeline)  # an internal error is not the customer's text
    assert not Order.objects.exists()
    assert any("could not be placed" in t for t in fake_telegram.sent_texts(customer.telegram_id))
