"""A small day of trade made with the shop's real services, for the dashboard and the bot."""

from dataclasses import dataclass

from tests.factories import CustomerFactory, PaymentFactory, PlanFactory
from vpnbot.shop import services as shop
from vpnbot.shop.models import Customer, Order


@dataclass
class Trade:
    buyer: Customer
    topper: Customer
    sold: Order
    refunded: Order


def a_day_of_trade(tag: str = "a") -> Trade:
    """Two customers; a card receipt of 300,000 approved; three orders (100,000, 150,000 and
    100,000), the last refunded in full; one receipt still waiting for review."""
    basic = PlanFactory(name=f"Basic {tag}", price_amount=100_000)
    family = PlanFactory(name=f"Family {tag}", price_amount=150_000)
    buyer = CustomerFactory.with_balance(400_000, language="en")
    topper = CustomerFactory(language="en")
    receipt = shop.payment_submit(customer=topper, amount=300_000, receipt_file_id=f"AgAC-trade-{tag}",
                                  receipt_unique_id=f"trade-{tag}")
    shop.payment_approve(payment_id=receipt.pk, reviewer="@boss", confirm=True)
    sold = shop.order_checkout(customer_id=buyer.pk, plan_id=basic.pk, quantity=1, idempotency_key=f"trade-{tag}1").order
    shop.order_checkout(customer_id=topper.pk, plan_id=family.pk, quantity=1, idempotency_key=f"trade-{tag}2")
    refunded = shop.order_checkout(customer_id=buyer.pk, plan_id=basic.pk, quantity=1, idempotency_key=f"trade-{tag}3").order
    shop.order_refund(order_id=refunded.pk, mode="full", reason="test", by="@boss")
    PaymentFactory(customer=topper, amount=50_000)  # waiting for review
    return Trade(buyer, topper, sold, refunded)
